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
- every 15 minutes, everything is unfrozen and collected once, so that a cycle that became
  garbage after it was frozen (an exception and its traceback, say) is not kept forever.

Measured at 500 calls/s on 2 vCPUs: left to its defaults, in a 15 s step, about twenty
collections of 25-66 ms and a full one of 337 ms. Freezing once a second instead, with a
collection whenever 50,000 more objects were alive than at the last one, left one collection a
second of 22-33 ms of CPU (a second's young objects), and a p99 INVITE->180 of 18-19 ms in two
20 s steps. Every 20 ms, the longest collection in a 15 s step took 6 ms, and the p99 was 7-10
ms in two steps; the collections took 0.45 s of CPU in all in that 15 s step.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

YOUNG_INTERVAL = 0.02  # seconds between collections of the young objects (then frozen)
FULL_COLLECTION_INTERVAL = 900.0  # seconds between collections of everything
# young objects before a collection between the ticks (a burst), then collections of a
# generation before the next older
THRESHOLDS = (50_000, 20, 100)


class CollectorSchedule:
    """Collects the young objects and freezes the survivors every `young_interval` seconds,
    and collects everything every `full_interval` seconds, in a task of the running loop."""

    def __init__(
        self,
        young_interval: float = YOUNG_INTERVAL,
        full_interval: float = FULL_COLLECTION_INTERVAL,
    ) -> None:
        self.young_interval = young_interval
        self.full_interval = full_interval
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
            if time.monotonic() - last_full >= self.full_interval:
                gc.unfreeze()
                gc.collect()
                self.full_collections += 1
                last_full = time.monotonic()
            else:
                gc.collect(0)
            gc.freeze()
