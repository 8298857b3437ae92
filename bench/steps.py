"""One load step (an offered rate held for a while) and the sweep of rising steps that finds the
highest rate a server passes: doubling rates until a step fails, then halving the gap between
the last rate passed and the first failed.

A step passes when failed + unfinished calls are fewer than 0.1 % of those offered and the rate
achieved (calls completed over the time sipp took to start them) is at least 95 % of the rate
offered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_LOSS = 0.001
MIN_ACHIEVED = 0.95


@dataclass
class Latency:
    """Milliseconds from the INVITE leaving sipp to a response arriving there."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None

    @classmethod
    def of(cls, seconds: Sequence[float | None]) -> Latency:
        values = sorted(s * 1000 for s in seconds if s is not None)
        if not values:
            return cls(0, None, None, None, None)
        return cls(
            len(values),
            percentile(values, 50),
            percentile(values, 95),
            percentile(values, 99),
            values[-1],
        )


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ordered sequence."""
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


@dataclass
class Step:
    """What one step measured. CPU figures are seconds of utime + stime over the step; the
    server's CPU per call adds what it spent after the step on the step's work."""

    target: str
    offered: float
    seconds: float  # the load was offered for this long
    offered_count: int
    successful: int
    failed: int
    unfinished: int
    achieved: float
    retransmissions: int
    wall: float  # first call offered to last call ended
    server_cpu: float
    sipp_cpu: float
    db_cpu: float | None
    others_cpu: float  # other processes on the server's CPU (a busy machine)
    steal: float  # time the hypervisor took from the server's CPU
    memory_bytes: int
    udp_drops: int
    latency_100: Latency
    latency_180: Latency
    records: int | None = None  # call records written to PostgreSQL during the step
    server_cpu_after: float = 0.0  # after the step, on work it left (`load.work_left`)
    server_kernel_cpu: float = 0.0  # of `server_cpu`, in the kernel (stime)
    rejected: int = 0  # calls ended by an error response (past capacity: 503s of overload)
    errors: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        lost = self.failed + self.unfinished
        return lost < MAX_LOSS * self.offered_count and self.achieved >= MIN_ACHIEVED * self.offered

    @property
    def server_cpu_us_per_call(self) -> float | None:
        """The server's CPU over the step and after it, on the work of the step."""
        if not self.successful:
            return None
        return (self.server_cpu + self.server_cpu_after) / self.successful * 1e6

    @property
    def server_kernel_us_per_call(self) -> float | None:
        """The part of the server's CPU over the step (not after it) that the kernel spent on
        its system calls: what a server written in any language pays for its datagrams."""
        if not self.successful:
            return None
        return self.server_kernel_cpu / self.successful * 1e6

    @property
    def db_cpu_us_per_call(self) -> float | None:
        if self.db_cpu is None or not self.successful:
            return None
        return self.db_cpu / self.successful * 1e6

    @property
    def server_load(self) -> float:
        """Share of one CPU the server used over the step."""
        return self.server_cpu / self.wall if self.wall else 0.0

    @property
    def load_side_load(self) -> float:
        """Share of one CPU used by sipp and the embedded PostgreSQL (they share a CPU)."""
        return (self.sipp_cpu + (self.db_cpu or 0.0)) / self.wall if self.wall else 0.0

    @property
    def others_load(self) -> float:
        """Share of the server's CPU used by other processes, or stolen, over the step."""
        return (self.others_cpu + self.steal) / self.wall if self.wall else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            passed=self.passed,
            server_cpu_us_per_call=_round(self.server_cpu_us_per_call),
            server_kernel_us_per_call=_round(self.server_kernel_us_per_call),
            db_cpu_us_per_call=_round(self.db_cpu_us_per_call),
            server_load=round(self.server_load, 3),
            load_side_load=round(self.load_side_load, 3),
            others_load=round(self.others_load, 3),
        )
        return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def doubling_rates(start: float, maximum: float) -> list[float]:
    """start, 2 start, 4 start, ... up to `maximum`."""
    rates = []
    rate = start
    while rate <= maximum:
        rates.append(rate)
        rate *= 2
    return rates


def nice(rate: float) -> float:
    """A rate rounded for reading: to 10 below 200, to 50 below 2000, else to 100."""
    grain = 10 if rate < 200 else 50 if rate < 2000 else 100
    return float(max(grain, round(rate / grain) * grain))


def sweep(
    run: Callable[[float], Step],
    rates: Sequence[float],
    *,
    refine: int = 2,
    floor: float = 10.0,
) -> list[Step]:
    """Run `rates` in order until a step fails. If the first fails, halve the rate until one
    passes (down to `floor`). Then halve the gap between the last rate passed and the first
    failed `refine` times."""
    steps: list[Step] = []
    passed: float | None = None
    failed: float | None = None
    for rate in rates:
        step = run(rate)
        steps.append(step)
        if not step.passed:
            failed = rate
            break
        passed = rate
    while passed is None and failed is not None and nice(failed / 2) >= floor:
        rate = nice(failed / 2)
        if rate >= failed:
            break
        step = run(rate)
        steps.append(step)
        if step.passed:
            passed = rate
        else:
            failed = rate
    for _ in range(refine):
        if passed is None or failed is None:
            break
        rate = nice((passed + failed) / 2)
        if not passed < rate < failed:
            break
        step = run(rate)
        steps.append(step)
        if step.passed:
            passed = rate
        else:
            failed = rate
    return steps


def best_rate(steps: Sequence[Step]) -> float | None:
    rates = [s.offered for s in steps if s.passed]
    return max(rates) if rates else None
