"""The UDP listener sends what a loop pass produced together, in order, once the pass is
done; a datagram it cannot send is logged and the others still go."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator

import pytest

from softswitch.transport.udp import UdpListener


@pytest.fixture
async def listener() -> AsyncIterator[UdpListener]:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(
        lambda: UdpListener(lambda data, peer: None, 65535), local_addr=("127.0.0.1", 0)
    )
    yield protocol
    protocol.close()


@pytest.fixture
def far_end() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        yield sock


def received(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(65535))
        except BlockingIOError:
            return out


async def until_received(sock: socket.socket, count: int) -> list[bytes]:
    out: list[bytes] = []
    for _ in range(100):
        out += received(sock)
        if len(out) >= count:
            break
        await asyncio.sleep(0.01)
    return out


async def test_datagrams_leave_in_order_once_the_pass_is_done(
    listener: UdpListener, far_end: socket.socket
) -> None:
    port = far_end.getsockname()[1]
    for n in range(3):
        listener.send(b"datagram %d" % n, "127.0.0.1", port)
    assert received(far_end) == []  # loopback delivers at once: nothing was sent yet
    assert await until_received(far_end, 3) == [b"datagram 0", b"datagram 1", b"datagram 2"]


async def test_one_that_cannot_be_sent_does_not_stop_the_rest(
    listener: UdpListener, far_end: socket.socket
) -> None:
    port = far_end.getsockname()[1]
    listener.send(b"first", "127.0.0.1", port)
    listener.send(b"nowhere", "not-an-address.invalid", port)
    listener.send(b"last", "127.0.0.1", port)
    assert await until_received(far_end, 2) == [b"first", b"last"]


async def test_closing_sends_what_is_queued(listener: UdpListener, far_end: socket.socket) -> None:
    listener.send(b"goodbye", "127.0.0.1", far_end.getsockname()[1])
    listener.close()
    assert await until_received(far_end, 1) == [b"goodbye"]
