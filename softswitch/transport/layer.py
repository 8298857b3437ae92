"""The transport layer: UDP and TCP listeners on one port, sending to peers, connection reuse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable

from .peer import Peer, format_host_port
from .tcp import TcpConnection
from .udp import UdpListener

log = logging.getLogger(__name__)

# Connections the kernel sets up while the loop is busy, waiting to be accepted. After a
# restart or an outage every TCP phone connects again at once; one that finds the queue full
# sends its SYN again a second later, then 3 s, 7 s... (asyncio's default of 100 held 1,000
# phones connecting in one burst to a median of 1.04 s, where 4096 took 52 ms). Linux caps it
# at net.core.somaxconn.
TCP_BACKLOG = 4096

MessageHandler = Callable[[bytes, Peer], None]
SendFailureHandler = Callable[[Peer], None]


class TransportLayer:
    """Owns the sockets. Received messages go to `handler` as raw bytes with their Peer."""

    def __init__(
        self,
        handler: MessageHandler,
        *,
        max_message_size: int = 65535,
        tcp_idle_timeout: float = 600.0,
        on_send_failure: SendFailureHandler | None = None,
    ) -> None:
        self._handler = handler
        self._on_send_failure = on_send_failure
        self.max_message_size = max_message_size
        self.tcp_idle_timeout = tcp_idle_timeout
        self._udp: list[UdpListener] = []
        self._servers: list[asyncio.Server] = []
        self._connections: dict[tuple[str, int], TcpConnection] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._connecting: set[asyncio.Task[None]] = set()

    # -- listening ---------------------------------------------------------------------------

    async def listen(self, host: str, port: int, *, shared: bool = False) -> int:
        """Listen for UDP and TCP on `host`:`port` (0 picks a free port used by both).
        `shared`: other processes listen on the same port too (SO_REUSEPORT), and the
        kernel spreads new requests over them by source address."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            udp_transport, listener = await loop.create_datagram_endpoint(
                lambda: UdpListener(self._handler, self.max_message_size),
                local_addr=(host, port),
                reuse_port=shared or None,
            )
            bound_port = listener.local_port
            try:
                server = await loop.create_server(
                    lambda bound=bound_port: self._new_connection(bound),
                    host,
                    bound_port,
                    reuse_address=True,
                    reuse_port=shared or None,
                    backlog=TCP_BACKLOG,
                )
            except OSError:
                udp_transport.close()
                if port:
                    raise
                continue  # the free UDP port was taken for TCP; try another
            _set_receive_buffer(udp_transport.get_extra_info("socket"))
            self._udp.append(listener)
            self._servers.append(server)
            if self._sweeper is None:
                self._schedule_sweep()
            return bound_port
        raise OSError(f"no port free for both UDP and TCP on {host}")

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [(u.local_host, u.local_port) for u in self._udp]

    def receive_backlog(self) -> float | None:
        """How full the fullest UDP receive buffer is (0 to 1); None where the system does not
        tell."""
        backlogs = [b for b in (u.backlog() for u in self._udp) if b is not None]
        return max(backlogs) if backlogs else None

    def _new_connection(self, local_port: int) -> TcpConnection:
        return TcpConnection(
            self._handler, self._opened, self._closed, self.max_message_size, local_port
        )

    def _opened(self, connection: TcpConnection) -> None:
        self._connections[connection.key] = connection

    def _closed(self, connection: TcpConnection) -> None:
        if self._connections.get(connection.key) is connection:
            del self._connections[connection.key]

    # -- sending -----------------------------------------------------------------------------

    def send(self, peer: Peer, data: bytes) -> None:
        if peer.transport == "udp":
            self._udp_for(peer).send(data, peer.host, peer.port)
            return
        connection = peer.connection
        if connection is None or not connection.is_open:
            connection = self._connections.get((peer.host, peer.port))
        if connection is not None and connection.is_open:
            connection.write(data)
            return
        self._connect_and_send(peer, data)

    def _udp_for(self, peer: Peer) -> UdpListener:
        family_v6 = ":" in peer.host
        fallback = None
        for listener in self._udp:
            if (":" in listener.local_host) == family_v6:
                if listener.local_port == peer.local_port:
                    return listener
                fallback = fallback or listener
        if fallback is None:
            if not self._udp:
                raise OSError("no UDP listener")
            return self._udp[0]
        return fallback

    def _connect_and_send(self, peer: Peer, data: bytes) -> None:
        local_port = peer.local_port or (self._udp[0].local_port if self._udp else 0)
        connection = self._new_connection(local_port)
        connection.write(data)  # held until connected
        task = asyncio.get_running_loop().create_task(self._connect(connection, peer))
        self._connecting.add(task)
        task.add_done_callback(self._connecting.discard)

    async def _connect(self, connection: TcpConnection, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: connection, peer.host, peer.port), timeout=10
            )
        except (OSError, TimeoutError) as err:
            log.info("tcp %s: connect failed: %s", format_host_port(peer.host, peer.port), err)
            connection.closed = True
            if self._on_send_failure is not None:
                self._on_send_failure(peer)

    # -- housekeeping ------------------------------------------------------------------------

    def _schedule_sweep(self) -> None:
        interval = max(1.0, min(30.0, self.tcp_idle_timeout / 4))
        self._sweeper = asyncio.get_running_loop().call_later(interval, self._sweep)

    def _sweep(self) -> None:
        cutoff = time.monotonic() - self.tcp_idle_timeout
        for connection in list(self._connections.values()):
            if connection.last_activity < cutoff:
                log.debug("tcp %s: idle, closing", connection.peer)
                connection.close()
        self._schedule_sweep()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for task in list(self._connecting):
            task.cancel()
        for listener in self._udp:
            listener.close()
        for server in self._servers:
            server.close()
        for connection in list(self._connections.values()):
            connection.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._udp.clear()
        self._servers.clear()


# Asked for the UDP receive buffer; the kernel caps the request at net.core.rmem_max and
# doubles it for its bookkeeping. 2 MiB holds 900 to 1,600 datagrams, 200 to 400 ms of work at
# the node's capacity: a burst is ridden out, but nothing waits long enough for the phone to
# resend it (T1, 500 ms). A longer queue only fills with requests that are sent again while
# they wait, and the load doubles: what does not fit is better dropped by the kernel at no
# cost. (With Linux's default rmem_max of 208 KiB the buffer is 416 KiB.)
RECEIVE_BUFFER = 1024 * 1024


def _set_receive_buffer(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
