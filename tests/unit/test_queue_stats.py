"""Queue statistics: counts, nearest-rank wait percentiles and the service level."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from softswitch.queue.stats import compute_stats, percentile


@dataclass
class Sample:
    enqueued_at: float
    taken_at: float | None = None
    connected_at: float | None = None
    outcome: str | None = None


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 1.0) == 10.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # unsorted input
    with pytest.raises(ValueError):
        percentile(values, 0.0)


def test_counts_waits_and_service_level() -> None:
    samples = [
        Sample(0, taken_at=5, connected_at=20, outcome="connected"),
        Sample(0, taken_at=10, outcome="completed"),
        Sample(0, taken_at=30, connected_at=60, outcome="connected"),
        Sample(0, taken_at=50, outcome="abandoned"),  # hung up while the operator's phone rang
        Sample(0, outcome="abandoned"),
        Sample(0, outcome="overflowed"),
        Sample(0),  # still waiting: not counted in the service level
    ]
    stats = compute_stats(samples, service_level_seconds=20)
    assert (stats.offered, stats.taken, stats.connected) == (7, 4, 2)
    assert (stats.abandoned, stats.overflowed) == (2, 1)
    assert (stats.wait_p50, stats.wait_p90) == (10.0, 50.0)
    # 6 calls whose wait is over (4 taken, 1 abandoned, 1 overflowed), 2 taken within 20 s.
    assert stats.service_level == pytest.approx(2 / 6)
    assert stats.as_dict()["offered"] == 7


def test_no_calls() -> None:
    stats = compute_stats([], 20)
    assert (stats.offered, stats.wait_p50, stats.wait_p90, stats.service_level) == (
        0,
        None,
        None,
        None,
    )


def test_the_service_level_threshold_is_inclusive() -> None:
    stats = compute_stats([Sample(100, taken_at=120), Sample(100, taken_at=120.5)], 20)
    assert stats.service_level == 0.5
