"""When the cyclic garbage collector runs, in the process that serves calls.

The state of a call (its transactions, messages and contexts) lives for up to 32 s after the
call (RFC 3261 timers J, H and D, RFC 6026 timers L and M), so at a few hundred calls a second
a few hundred thousand objects are alive at any moment. Reference counting frees them: the
collector finds no cycles among them. Left to its defaults, it walks all of them again and
again, and its full collections stop the event loop for hundreds of milliseconds, long enough
for callers' phones to retransmit. So:

- everything alive once the server has started (modules, the lines, the dialplan) is frozen:
  never walked again;
- every 20 ms, the objects made since the last tick are collected (a cycle among them is found
  while it is young) and what survived is frozen: every object is walked once, and a collection
  only ever walks the objects of the last 20 ms;
- everything is unfrozen and collected once, so that a cycle that became garbage after it was
  frozen (an exception and its traceback, say) is not kept forever: at most every 15 minutes
  and only when the node is quiet (few transactions alive), since this collection walks every
  object alive, the state of every call of the last 32 s included; if the node is never
  quiet, once a day all the same.

Measured at 500 calls/s on 2 vCPUs: left to its defaults, in a 15 s step, about twenty
collections of 25-66 ms and a full one of 337 ms. Freezing once a second instead, with a
collection whenever 50,000 more objects were alive than at the last one, left one collection a
second of 22-33 ms of CPU (a second's young objects), and a p99 INVITE->180 of 18-19 ms in two
20 s steps. Every 20 ms, the longest collection in a 15 s step took 6 ms, and the p99 was 7-10
ms in two steps; the collections took 0.45 s of CPU in all in that 15 s step. A collection of
everything, at 800 calls/s, took 475-893 ms (400,000-620,000 objects) and failed calls that
were being set up; at 400 calls/s, 250-465 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable

YOUNG_INTERVAL = 0.02  # seconds between collections of the young objects (then frozen)
FULL_COLLECTION_INTERVAL = 900.0  # at least this many seconds between collections of everything
FULL_COLLECTION_LIMIT = 86_400.0  # at most this many, quiet or not
QUIET_TRANSACTIONS = 1_000  # at most this many transactions alive: quiet enough to collect all
# young objects before a collection between the ticks (a burst), then collections of a
# generation before the next older
THRESHOLDS = (50_000, 20, 100)


class CollectorSchedule:
    """Collects the young objects and freezes the survivors every `young_interval` seconds,
    in a task of the running loop; collects everything once `full_interval` seconds have passed
    since the last time and `transactions()` (those alive) is at most `quiet_transactions`, or
    once `full_limit` seconds have passed."""

    def __init__(
        self,
        transactions: Callable[[], int] = lambda: 0,
        *,
        young_interval: float = YOUNG_INTERVAL,
        full_interval: float = FULL_COLLECTION_INTERVAL,
        full_limit: float = FULL_COLLECTION_LIMIT,
        quiet_transactions: int = QUIET_TRANSACTIONS,
    ) -> None:
        self.transactions = transactions
        self.young_interval = young_interval
        self.full_interval = full_interval
        self.full_limit = full_limit
        self.quiet_transactions = quiet_transactions
        self.full_collections = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="gc-schedule")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        last_full = time.monotonic()
        while True:
            await asyncio.sleep(self.young_interval)
            since = time.monotonic() - last_full
            if since >= self.full_limit or (
                since >= self.full_interval and self.transactions() <= self.quiet_transactions
            ):
                gc.unfreeze()
                gc.collect()
                self.full_collections += 1
                last_full = time.monotonic()
            else:
                gc.collect(0)
            gc.freeze()
