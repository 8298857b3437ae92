"""The live console: one subscription to the queue service, fanned out to every open console.

Messages to the page (JSON, times in epoch seconds; each carries `server_time` so the page can
tick wait times on the server's clock):

- `{"type": "snapshot", "calls": [...], "me": {...}, "stats": {...}}`: on connect, and whenever
  the queue service says changes may have been missed: replace everything shown.
- `{"type": "call", "call": {...}}`: a call changed; it is in the waiting list while `queued`.
- `{"type": "me", "me": {...}}`: this operator's position or the call they hold changed.
- `{"type": "stats", "stats": {...}}`: new queue figures.
- `{"type": "alert", "message": "...", "call": {...}}`: an emergency call is waiting.

Everything is read from the queue service's memory; the only database read is the queue
figures, at most once per `stats_interval` seconds and only after a change.

Each console has a bounded outbox and a writer task of its own, so a slow browser never holds
up the others: one that falls too far behind is closed and reconnects to a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import WSMsgType, web

from ..queue import QueueCall, QueueService, Subscription
from .history import CallBook
from .sessions import SessionStore
from .views import HELD, call_view, operator_view, stats_view

__all__ = ["CLOSE_OVERLOADED", "CLOSE_SIGNED_OUT", "Hub"]

log = logging.getLogger(__name__)

CLOSE_SIGNED_OUT = 4401  # the session ended: the page shows the login form
CLOSE_OVERLOADED = 4008  # the console fell behind: the page reconnects
OUTBOX_SIZE = 500
STATS_INTERVAL = 5.0
SESSION_CHECK = 30.0

Message = dict[str, Any]


class _Console:
    """One open WebSocket: its operator, and what is waiting to be written to it."""

    def __init__(self, ws: web.WebSocketResponse, login: str, session_id: str) -> None:
        self.ws = ws
        self.login = login
        self.session_id = session_id
        self.outbox: asyncio.Queue[Message | int] = asyncio.Queue(OUTBOX_SIZE)
        self.closing = False

    def send(self, message: Message) -> None:
        if self.closing:
            return
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.info("console of %s fell behind; closing it", self.login)
            self.close(CLOSE_OVERLOADED)

    def close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        while not self.outbox.empty():
            self.outbox.get_nowait()
        self.outbox.put_nowait(code)

    async def write(self) -> None:
        while True:
            item = await self.outbox.get()
            if isinstance(item, int):
                await self.ws.close(code=item)
                return
            item["server_time"] = time.time()
            try:
                await self.ws.send_json(item)
            except (ConnectionError, RuntimeError):
                return


class Hub:
    def __init__(
        self,
        queue: QueueService,
        sessions: SessionStore,
        book: CallBook,
        *,
        stats_interval: float = STATS_INTERVAL,
        session_check: float = SESSION_CHECK,
    ) -> None:
        self.queue = queue
        self.sessions = sessions
        self.book = book
        self.stats_interval = stats_interval
        self.session_check = session_check
        self.stats: Message = {}
        self._consoles: set[_Console] = set()
        self._subscription: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats_task: asyncio.Task[None] | None = None
        self._stats_at = 0.0

    # -- life cycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self._subscription = self.queue.subscribe()
        self._spawn(self._follow(self._subscription))
        self._spawn(self._check_sessions())
        await self.refresh_stats()

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        for console in list(self._consoles):
            console.close(1001)  # going away
        tasks = list(self._tasks)
        if self._stats_task is not None:
            tasks.append(self._stats_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one console ---------------------------------------------------------------------

    async def serve(
        self, request: web.Request, login: str, session_id: str
    ) -> web.WebSocketResponse:
        """The WebSocket of one console, until it closes."""
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4096)
        await ws.prepare(request)
        console = _Console(ws, login, session_id)
        console.send(self.snapshot(login))
        self._consoles.add(console)
        writer = asyncio.get_running_loop().create_task(console.write())
        try:
            async for message in ws:  # the page sends nothing that matters; read to see closes
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self._consoles.discard(console)
            if not writer.done():
                console.close(1000)
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(writer, 5.0)
            writer.cancel()
        return ws

    def sign_out(self, session_id: str) -> None:
        """Close the consoles of a session that ended."""
        for console in list(self._consoles):
            if console.session_id == session_id:
                console.close(CLOSE_SIGNED_OUT)

    def push_me(self, login: str) -> None:
        message = {"type": "me", "me": self.me(login)}
        for console in self._consoles:
            if console.login == login:
                console.send(dict(message))

    @property
    def consoles(self) -> int:
        return len(self._consoles)

    # -- what a console is shown ---------------------------------------------------------

    def snapshot(self, login: str) -> Message:
        return {
            "type": "snapshot",
            "calls": [call_view(call) for call in self.queue.waiting()],
            "me": self.me(login),
            "stats": self.stats,
        }

    def me(self, login: str) -> Message:
        return operator_view(login, self.queue.position(login), self.held_call(login))

    def held_call(self, login: str) -> QueueCall | None:
        """The call the operator has now (their phone rings, they talk, or they connect it)."""
        return next(
            (c for c in self.queue.calls() if c.operator == login and c.state.value in HELD),
            None,
        )

    async def refresh_stats(self) -> None:
        self._stats_at = time.monotonic()
        try:
            stats = await self.queue.stats()
        except Exception as exc:  # the figures must not take the console down with them
            log.warning("queue figures not available: %s", exc)
            return
        self.stats = stats_view(stats, self.queue.config("").service_level_seconds)
        self._broadcast({"type": "stats", "stats": self.stats})

    # -- events from the queue -----------------------------------------------------------

    async def _follow(self, subscription: Subscription) -> None:
        async for event in subscription:
            try:
                self._dispatch(event)
            except Exception:
                log.exception("console event not delivered: %r", event.get("type"))

    def _dispatch(self, event: Mapping[str, Any]) -> None:
        kind = event.get("type")
        if kind == "snapshot":
            for call in event.get("calls", ()):
                self.book.observe(call)
            for console in self._consoles:
                console.send(self.snapshot(console.login))
            self._stats_soon()
        elif kind == "call":
            self._call_changed(event["call"], event.get("event"), bool(event.get("alert")))
        elif kind == "position":
            self.push_me(event["position"]["login"])
        elif kind == "position_removed":
            for console in list(self._consoles):
                if console.login == event["operator"]:
                    console.close(CLOSE_SIGNED_OUT)

    def _call_changed(self, call: Mapping[str, Any], what: str | None, alert: bool) -> None:
        self.book.observe(call)
        view = call_view(call)
        self._broadcast({"type": "call", "call": view})
        concerned = {c.login for c in self._consoles if c.login == call.get("operator")}
        concerned.update(c.login for c in self._consoles if self.book.has(c.login, call["id"]))
        for login in concerned:
            self.push_me(login)
        if alert and what in ("enqueued", "returned"):
            self._broadcast({"type": "alert", "message": _alert_text(view), "call": view})
        self._stats_soon()

    def _broadcast(self, message: Message) -> None:
        for console in list(self._consoles):
            console.send(dict(message))

    def _stats_soon(self) -> None:
        """Refresh the figures after a change: at once if the last refresh is old enough,
        else when it is; changes meanwhile share that one refresh."""
        if self._stats_task is not None and not self._stats_task.done():
            return
        delay = max(0.0, self._stats_at + self.stats_interval - time.monotonic())
        self._stats_task = asyncio.get_running_loop().create_task(self._stats_after(delay))

    async def _stats_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.refresh_stats()

    async def _check_sessions(self) -> None:
        while True:
            await asyncio.sleep(self.session_check)
            for console in list(self._consoles):
                if self.sessions.peek(console.session_id) is None:
                    console.close(CLOSE_SIGNED_OUT)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _alert_text(call: Mapping[str, Any]) -> str:
    caller = call.get("caller_name") or call["caller"]
    where = " ".join(part for part in (call.get("exchange"), call.get("jack")) if part)
    return f"Emergency call from {caller} for {call['dialed']}" + (f" ({where})" if where else "")
