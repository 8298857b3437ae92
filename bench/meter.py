"""Counters read before and after a step: CPU time of the server, of PostgreSQL and of the two
CPUs as a whole, UDP drops on the server's port."""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import procs
from .database import Database
from .procs import Placement
from .targets import Target

SATURATED = 0.9  # sipp's CPU busy this share of a step: the load generator may be the limit
BUSY_MACHINE = 0.25  # others took this share of the server's CPU: the step says so


@dataclass(frozen=True, slots=True)
class Reading:
    at: float
    server_cpu: float
    server_kernel_cpu: float
    drops: int
    server_core: tuple[float, float]  # busy, stolen
    load_core: tuple[float, float]
    db_cpu: float | None

    @classmethod
    def take(cls, target: Target, placement: Placement, database: Database | None) -> Reading:
        return cls(
            time.monotonic(),
            target.cpu_seconds(),
            target.kernel_cpu_seconds(),
            target.udp_drops(),
            procs.cpu_times(placement.server),
            procs.cpu_times(placement.load),
            database.cpu_seconds() if database is not None else None,
        )


@dataclass(frozen=True, slots=True)
class Measured:
    """What happened between two readings."""

    wall: float
    server_cpu: float
    server_kernel_cpu: float
    drops: int
    others_cpu: float  # other processes on the server's CPU
    steal: float
    load_busy: float  # the load CPU, busy or stolen
    db_cpu: float | None

    @classmethod
    def between(cls, before: Reading, after: Reading) -> Measured:
        server_cpu = after.server_cpu - before.server_cpu
        busy = after.server_core[0] - before.server_core[0]
        db_cpu = None
        if after.db_cpu is not None and before.db_cpu is not None:
            db_cpu = after.db_cpu - before.db_cpu
        return cls(
            wall=after.at - before.at,
            server_cpu=server_cpu,
            server_kernel_cpu=after.server_kernel_cpu - before.server_kernel_cpu,
            drops=after.drops - before.drops,
            others_cpu=max(0.0, busy - server_cpu),
            steal=after.server_core[1] - before.server_core[1],
            load_busy=sum(after.load_core) - sum(before.load_core),
            db_cpu=db_cpu,
        )

    def notes(self, placement: Placement) -> list[str]:
        """What a reader should know: a saturated load generator, a busy machine."""
        found = []
        if not self.wall or placement.server is None:
            return found
        if self.load_busy > SATURATED * self.wall:
            found.append(
                f"sipp's CPU {self.load_busy / self.wall:.0%} busy: the load generator may be "
                "the limit"
            )
        if self.others_cpu + self.steal > BUSY_MACHINE * self.wall:
            share = (self.others_cpu + self.steal) / self.wall
            found.append(f"others took {share:.0%} of the server's CPU")
        return found
