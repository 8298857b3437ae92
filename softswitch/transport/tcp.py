"""SIP over TCP: framing by Content-Length, keepalive pongs, idle timeouts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import cast

from ..sip import PING, PONG, FramingError, StreamFramer
from .peer import Peer

log = logging.getLogger(__name__)


class TcpConnection(asyncio.Protocol):
    """One TCP connection, accepted or opened by us; messages go up as (bytes, Peer)."""

    def __init__(
        self,
        handler: Callable[[bytes, Peer], None],
        on_open: Callable[[TcpConnection], None],
        on_close: Callable[[TcpConnection], None],
        max_size: int,
        local_port: int,
    ) -> None:
        self._handler = handler
        self._on_open = on_open
        self._on_close = on_close
        self._framer = StreamFramer(max_size)
        self._transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self.local_port = local_port
        self.peer = Peer("tcp", "", 0, self, local_port)
        self.last_activity = time.monotonic()
        self.closed = False

    @property
    def is_open(self) -> bool:
        return not self.closed

    @property
    def key(self) -> tuple[str, int]:
        return self.peer.host, self.peer.port

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = stream = cast(asyncio.Transport, transport)  # a stream's, writable
        host, port = transport.get_extra_info("peername")[:2]
        self.peer.host = host
        self.peer.port = port
        for data in self._pending:
            stream.write(data)
        self._pending.clear()
        self._on_open(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        try:
            items = self._framer.feed(data)
        except FramingError as err:
            log.warning("tcp %s: closing connection: %s", self.peer, err.reason)
            self.close()
            return
        for item in items:
            if item is PING or item == PING:
                self.write(PONG)  # RFC 5626 §3.5.1
            else:
                self._handler(item, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._on_close(self)

    def write(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self._transport is None:
            self._pending.append(data)
        elif not self.closed:
            self._transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()
