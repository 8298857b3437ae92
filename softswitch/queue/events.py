"""What consoles are told: each change as a small dict, pushed to every subscription.

Events (all JSON-able; times are epoch seconds):

- `{"type": "snapshot", "node": ..., "calls": [call, ...], "positions": [position, ...]}`:
  the whole live queue, in answer order. Always the first event of a subscription, and sent
  again whenever the subscriber may have missed changes (it fell too far behind, or the node
  lost its database connection for a while): replace what is shown.
- `{"type": "call", "event": EVENT, "call": call, "alert": bool}`: a call changed; EVENT is
  what happened (`enqueued`, `offered`, `declined`, `taken`, `connecting`, `connect_failed`,
  `connected`, `returned`, `completed`, `abandoned`, `overflowed`, `failed`). `alert` is true
  for an emergency call that waits for an operator: every console should ring for it, whatever
  queues its operator serves.
- `{"type": "position", "position": position}`: an operator's position changed (or an
  operator was added).
- `{"type": "position_removed", "operator": LOGIN}`: an operator was removed.

A `call` is `QueueCall.as_dict()`, a `position` `Position.as_dict()`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from .states import Position, QueueCall

__all__ = ["Event", "Subscription", "call_event", "position_event", "position_removed"]

Event = dict[str, Any]

# A subscriber this far behind gets a snapshot instead of the events it missed.
MAX_PENDING = 1000


def call_event(call: QueueCall) -> Event:
    return {
        "type": "call",
        "event": call.event.value,
        "call": call.as_dict(),
        "alert": call.emergency and call.queued,
    }


def position_event(position: Position) -> Event:
    return {"type": "position", "position": position.as_dict()}


def position_removed(login: str) -> Event:
    return {"type": "position_removed", "operator": login}


class Subscription:
    """An async iterator of events; `close()` it (or use `async with`) when done. It ends
    when the queue service closes."""

    def __init__(
        self,
        snapshot: Callable[[], Event],
        on_close: Callable[[Subscription], None],
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._snapshot = snapshot
        self._on_close = on_close
        self._max_pending = max_pending
        self._pending: deque[Event] = deque()
        self._wakeup = asyncio.Event()
        self._needs_snapshot = True
        self._closed = False

    def push(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._pending) >= self._max_pending:
            self.resync()
            return
        self._pending.append(event)
        self._wakeup.set()

    def resync(self) -> None:
        """Send a snapshot next, instead of the events pending."""
        self._pending.clear()
        self._needs_snapshot = True
        self._wakeup.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pending.clear()
            self._wakeup.set()
            self._on_close(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._needs_snapshot:
                self._needs_snapshot = False
                self._pending.clear()
                return self._snapshot()
            if self._pending:
                return self._pending.popleft()
            self._wakeup.clear()
            await self._wakeup.wait()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
