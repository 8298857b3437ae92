"""Callbacks run one at a time, in the order they were scheduled, in a task of their own, so
the code that schedules them never waits for them and one that fails does not stop the rest."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable
from typing import Any

__all__ = ["SerialRunner"]

log = logging.getLogger(__name__)


class SerialRunner:
    def __init__(self, name: str) -> None:
        self._name = name
        self._pending: asyncio.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def schedule(self, function: Callable[..., Any], *args: Any) -> None:
        """Run `function(*args)` (awaited if it returns an awaitable) after those before it."""
        if self._closed:
            return
        self._pending.put_nowait((function, args))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            function, args = await self._pending.get()
            try:
                result = function(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # one failing callback must not stop the others
                log.exception("queue callback %r failed", function)
