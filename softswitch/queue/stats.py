"""Queue statistics from the calls that entered a queue: pure functions.

- offered: calls that entered the queue;
- taken: calls an operator took; connected: calls an operator connected to their destination;
- abandoned: callers who hung up first; overflowed: calls sent elsewhere by a queue limit;
- wait p50 / p90: seconds until an operator took the call, over the calls taken (nearest-rank
  percentiles);
- service level: of the calls whose wait is over (taken, abandoned or overflowed), the share
  taken within the queue's `service_level_seconds`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["QueueStats", "StatsSample", "compute_stats", "percentile"]


class StatsSample(Protocol):
    """What the statistics read of one queue call (a store row or a `QueueCall`)."""

    @property
    def enqueued_at(self) -> float: ...
    @property
    def taken_at(self) -> float | None: ...
    @property
    def connected_at(self) -> float | None: ...
    @property
    def outcome(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class QueueStats:
    offered: int
    taken: int
    connected: int
    abandoned: int
    overflowed: int
    wait_p50: float | None
    wait_p90: float | None
    service_level: float | None  # 0.0 .. 1.0; None before any call's wait is over

    def as_dict(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "taken": self.taken,
            "connected": self.connected,
            "abandoned": self.abandoned,
            "overflowed": self.overflowed,
            "wait_p50": self.wait_p50,
            "wait_p90": self.wait_p90,
            "service_level": self.service_level,
        }


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile of `values` (the smallest value with at least `fraction` of
    them at or below it); None for no values."""
    if not values:
        return None
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def compute_stats(samples: Iterable[StatsSample], service_level_seconds: float) -> QueueStats:
    offered = taken = connected = abandoned = overflowed = 0
    waits: list[float] = []
    over = within = 0
    for sample in samples:
        offered += 1
        if sample.taken_at is not None:
            taken += 1
            wait = max(0.0, sample.taken_at - sample.enqueued_at)
            waits.append(wait)
            over += 1
            within += wait <= service_level_seconds
        elif sample.outcome in ("abandoned", "overflowed"):
            over += 1
        if sample.connected_at is not None:
            connected += 1
        if sample.outcome == "abandoned":
            abandoned += 1
        elif sample.outcome == "overflowed":
            overflowed += 1
    return QueueStats(
        offered=offered,
        taken=taken,
        connected=connected,
        abandoned=abandoned,
        overflowed=overflowed,
        wait_p50=percentile(waits, 0.5),
        wait_p90=percentile(waits, 0.9),
        service_level=within / over if over else None,
    )
