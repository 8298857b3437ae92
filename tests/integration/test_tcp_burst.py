"""Every TCP phone connecting at once (after a restart, or an outage of the network) while the
event loop is busy: the kernel sets up the connections in the listen queue until the loop
accepts them, and a phone that finds the queue full waits for its SYN to be sent again, a
second later at the earliest (RFC 6298 §2.1)."""

from __future__ import annotations

import asyncio
import resource
import selectors
import socket
import threading
import time

import pytest

from softswitch.transport.layer import TransportLayer

HOST = "127.0.0.1"
PHONES = 500  # five times what asyncio's default listen queue holds
BUSY = 0.5  # seconds the loop is kept from accepting
RETRY = 1.0  # the first SYN retransmission, at the earliest


def enough_descriptors(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= count:
        return
    if hard != resource.RLIM_INFINITY and hard < count:
        pytest.skip(f"needs {count} file descriptors; ulimit -Hn is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


def connect_all(port: int, count: int, started: threading.Event) -> list[float]:
    """Connect `count` sockets at once; the seconds each took to be set up."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    selector = selectors.DefaultSelector()  # epoll: select() stops at descriptor 1024
    began = time.monotonic()
    try:
        for sock in sockets:
            sock.setblocking(False)
            sock.connect_ex((HOST, port))
            selector.register(sock, selectors.EVENT_WRITE)
        started.set()
        took: list[float] = []
        while len(took) < count and time.monotonic() - began < 3 * RETRY:
            for key, _ in selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                selector.unregister(sock)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    took.append(time.monotonic() - began)
        return took
    finally:
        started.set()
        selector.close()
        for sock in sockets:
            sock.close()


async def test_a_burst_of_phones_connecting_while_the_loop_is_busy_waits_for_no_retry() -> None:
    enough_descriptors(2 * PHONES + 200)
    layer = TransportLayer(lambda data, peer: None)
    port = await layer.listen(HOST, 0)
    try:
        started = threading.Event()
        loop = asyncio.get_running_loop()
        connecting = loop.run_in_executor(None, connect_all, port, PHONES, started)
        started.wait(5)
        time.sleep(BUSY)  # the loop handles a burst of its own meanwhile: nothing is accepted
        took = await connecting
    finally:
        await layer.close()
    assert len(took) == PHONES
    assert max(took) < RETRY, f"the slowest phone took {max(took):.2f} s to connect"
