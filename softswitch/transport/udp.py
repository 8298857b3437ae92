"""SIP over UDP: one datagram, one message."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable

from .peer import Peer

log = logging.getLogger(__name__)

# Linux's SO_MEMINFO: the socket's memory counters, the first two the bytes in its receive
# queue and the size of its receive buffer
SO_MEMINFO = 55
_MEMINFO = struct.Struct("9I")

MessageHandler = Callable[[bytes, Peer], None]


class UdpListener(asyncio.DatagramProtocol):
    __slots__ = ("_handler", "local_host", "local_port", "max_size", "transport")

    def __init__(self, handler: MessageHandler, max_size: int) -> None:
        self._handler = handler
        self.max_size = max_size
        self.transport: asyncio.DatagramTransport | None = None
        self.local_host = ""
        self.local_port = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.local_host, self.local_port = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) > self.max_size:
            log.warning("udp %s:%s: dropped a %d-byte datagram", addr[0], addr[1], len(data))
            return
        if not data.strip(b"\r\n\x00 "):
            return  # keepalives some phones send over UDP
        self._handler(data, Peer("udp", addr[0], addr[1], None, self.local_port))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like (§18.4): the transaction times out on its own.
        log.debug("udp error: %s", exc)

    def backlog(self) -> float | None:
        """How full the socket's receive buffer is with datagrams waiting to be read, 0 to 1
        (Linux; None elsewhere)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return None
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO.size)
        except OSError:
            return None
        waiting, size = _MEMINFO.unpack(raw)[:2]
        return waiting / size if size else None

    def send(self, data: bytes, host: str, port: int) -> None:
        if self.transport is not None:
            self.transport.sendto(data, (host, port))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
