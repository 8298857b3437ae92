"""LISTEN/NOTIFY: hear about changes that other processes made to the database.

The schema's triggers send the channel `softswitch_lines` the number of every line inserted,
updated or deleted, `softswitch_exchanges` the code of every exchange inserted, updated or
deleted, `softswitch_dialplan` the version of a dialplan made active, and `softswitch_queue`
what changed in the operator queue (`call:ID:REV`, `operator:LOGIN:REV`, `config:QUEUE:REV`).
A `Listener` holds one connection of its own (not one of the pool), hands the payloads to a
callback one at a time, in the order they came, and reconnects with backoff if the connection
is lost; notifications sent meanwhile are lost, so after a reconnection it calls `on_resync`
for the owner to reload what it keeps in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from .errors import StoreError

__all__ = [
    "BINDINGS_CHANNEL",
    "DIALPLAN_CHANNEL",
    "EXCHANGES_CHANNEL",
    "LINES_CHANNEL",
    "QUEUE_CHANNEL",
    "Listener",
    "binding_notice",
]

log = logging.getLogger(__name__)

LINES_CHANNEL = "softswitch_lines"
BINDINGS_CHANNEL = "softswitch_bindings"
EXCHANGES_CHANNEL = "softswitch_exchanges"
DIALPLAN_CHANNEL = "softswitch_dialplan"
QUEUE_CHANNEL = "softswitch_queue"

Callback = Callable[[str], Awaitable[None] | None]


def binding_notice(payload: str) -> tuple[str, list[str]]:
    """The node that wrote and the lines it changed, from a payload of BINDINGS_CHANNEL
    ("<node> <line>,<line>,...", migration 0012): a node's name may hold spaces, a line number
    holds neither spaces nor commas."""
    writer, _, lines = payload.rpartition(" ")
    return writer, lines.split(",")


Resync = Callable[[], Awaitable[None] | None]
OnConnect = Callable[[asyncpg.Connection], Awaitable[None]]

_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


class Listener:
    def __init__(
        self,
        url: str,
        channel: str,
        callback: Callback,
        on_resync: Resync | None = None,
        on_connect: OnConnect | None = None,
    ) -> None:
        """`on_connect`: run on each new connection before it listens (what the connection
        holds for as long as it lives: a session lock, say)."""
        self._url = url
        self._channel = channel
        self._callback = callback
        self._on_resync = on_resync
        self._on_connect = on_connect
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect and listen; raises if the first connection fails."""
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"softswitch-listen-{self._channel}"
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._disconnect()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url)
        try:
            if self._on_connect is not None:
                await self._on_connect(conn)
            await conn.add_listener(self._channel, self._notified)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self._lost.clear()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._terminated)
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                await conn.close(timeout=5)

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._queue.put_nowait(payload)

    def _terminated(self, conn: object) -> None:
        self._lost.set()
        self._queue.put_nowait(None)  # wake the consumer

    async def _run(self) -> None:
        while True:
            payload = await self._queue.get()
            if payload is not None:
                await self._call(self._callback, payload)
            elif self._lost.is_set():
                await self._reconnect()

    async def _reconnect(self) -> None:
        log.warning("lost the %s listener connection; reconnecting", self._channel)
        await self._disconnect()
        attempt = 0
        while True:
            delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
            await asyncio.sleep(delay)
            try:
                await self._connect()
            except (
                OSError,
                TimeoutError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                StoreError,  # what `on_connect` refused (another process runs as this node)
            ) as exc:
                attempt += 1
                log.warning("cannot listen on %s yet: %s", self._channel, exc)
                continue
            break
        log.info("listening on %s again", self._channel)
        if self._on_resync is not None:
            await self._call(self._on_resync)

    async def _call(self, function: Callable[..., Awaitable[None] | None], *args: str) -> None:
        try:
            result = function(*args)
            if inspect.isawaitable(result):
                await result
        except Exception:  # one failing callback must not stop the listener
            log.exception("%s callback failed", self._channel)
