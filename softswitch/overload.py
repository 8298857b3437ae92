"""Overload control: when the serving thread cannot keep up, new calls and registrations are
refused with 503 at the door, so that the calls already up are carried to their end.

Without it, a node past its capacity does not slow down gently: requests wait in the socket
buffer until the phones retransmit them, the retransmissions add to the load, and soon no call
completes at all (the problem RFC 5390 and RFC 6357 describe). With it, the node sheds part of
the new work and spends what it saves on the calls it took.

Two measurements, every quarter of a second, decide it:
- the occupancy of the serving thread: the share of wall time it was on the CPU or runnable and
  waiting for it (the measure of the switching systems' processor overload controls);
- the backlog: how full the sockets' receive buffers are with datagrams waiting unread.

Busy and behind (occupancy at the target or over, and a backlog that is not draining) means
overload: the admitted share of new requests is cut by a fixed factor, and by its square when
the buffer is nearly full and datagrams are about to be lost. Busy but keeping up, or with the
backlog already draining after a cut, holds it: cutting again before the queue has answered
the last cut would cut far too deep. Below the target it grows back, scaled by
target / occupancy, unless the backlog is still filling (one interval's occupancy just under
the target says little when the queue grows). Busy alone is not enough: a thread kept busy by
a load it still keeps up with has no caller waiting; a backlog alone is not enough either: a
burst on an idle node is gone in milliseconds. A buffer nearly full at two readings in a row
is cut whatever the occupancy: something other than the CPU is holding the thread back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

DEFAULT_TARGET = 0.9  # occupancy at which shedding may start
SAMPLE_INTERVAL = 0.25  # seconds between measurements
# How full a socket's receive buffer must be to mean "behind". With the buffer the transport
# asks for (softswitch/transport/layer.py) half of it is 100 to 200 ms of work, under half
# of T1: requests are still answered before phones send them again. Near capacity, bursts were
# seen to fill it to 30% and drain by themselves; past capacity it fills within a fraction
# of a second.
BEHIND = 0.5
NEARLY_FULL = 0.9  # past this, the next burst overflows the buffer
CUT = 0.7  # the admitted share is multiplied by this each interval of overload
DEEP_CUT = CUT * CUT  # and by this when the buffer is nearly full
MAX_GROWTH = 1.5  # and grows at most by this factor an interval when there is room
MIN_ADMITTED = 0.02  # a trickle still gets in


class AdmissionControl:
    """The share of new requests to admit, from the measured occupancy and backlog (sans-I/O:
    the caller measures and calls `update`)."""

    def __init__(self, target: float = DEFAULT_TARGET) -> None:
        if not 0.0 < target <= 1.0:
            raise ValueError(f"overload target {target} is not in (0, 1]")
        self.target = target
        self.admitted = 1.0  # share of new requests admitted
        self.occupancy = 0.0  # the last measurements
        self.backlog: float | None = None
        self.refused = 0  # new requests refused since start
        self._credit = 0.0

    @property
    def shedding(self) -> bool:
        return self.admitted < 1.0

    def update(self, occupancy: float, backlog: float | None) -> None:
        """One interval's occupancy and the backlog now (0 to 1 each; None when the system
        does not tell the backlog, and then the occupancy alone decides)."""
        previous = self.backlog
        draining = backlog is not None and previous is not None and backlog < previous
        self.occupancy, self.backlog = occupancy, backlog
        filling = backlog is not None and backlog >= BEHIND and not draining
        nearly_full = backlog is not None and filling and backlog >= NEARLY_FULL
        # Full at two readings in a row is no burst, whatever kept the thread from the queue
        # (not only the CPU: a thread stopped or blocked is not counted as busy).
        full_again = nearly_full and previous is not None and previous >= NEARLY_FULL
        busy = occupancy >= self.target
        if full_again or (busy and nearly_full):
            share = self.admitted * DEEP_CUT
        elif busy and (filling or backlog is None):
            share = self.admitted * CUT
        elif busy or filling:
            share = self.admitted  # keeping up, draining after a cut, or still filling: held
        elif occupancy <= 0.0:
            share = 1.0
        else:
            share = self.admitted * min(self.target / occupancy, MAX_GROWTH)
        self.admitted = min(1.0, max(MIN_ADMITTED, share))
        if self.admitted == 1.0:
            self._credit = 0.0

    def admit(self) -> bool:
        """Should the next new request be taken? Refusals are spread evenly: with half
        admitted, every other request is refused, not runs of them."""
        if self.admitted >= 1.0:
            return True
        self._credit += self.admitted
        if self._credit > 0.999_999:  # not 1.0: sums of a share like 0.6 fall just short
            self._credit -= 1.0
            return True
        self.refused += 1
        return False


class RefusalTally:
    """New calls and registrations refused since the first refusal not yet written down. An
    interval is written once a minute: it never spans two minutes, so never two hours either,
    which the hourly traffic report counts on."""

    def __init__(self) -> None:
        self.since: float | None = None  # wall time of the first refusal counted
        self.invites = 0
        self.registrations = 0

    def count(self, method: str, now: float) -> None:
        if self.since is None:
            self.since = now
        if method == "INVITE":
            self.invites += 1
        else:
            self.registrations += 1

    def due(self, now: float) -> bool:
        """A minute began since the first refusal counted."""
        return self.since is not None and now // 60 != self.since // 60

    def take(self, now: float) -> tuple[float, float, int, int] | None:
        """(since, until, invites, registrations), and a new count; None if nothing was
        refused."""
        if self.since is None:
            return None
        # the interval ends within the minute it began, even when read late
        interval = (
            self.since,
            min(now, (self.since // 60 + 1) * 60),
            self.invites,
            self.registrations,
        )
        self.since, self.invites, self.registrations = None, 0, 0
        return interval


class ThreadOccupancy:
    """The share of wall time one thread spent on the CPU or runnable and waiting for it,
    since the last reading. The waiting counts: a thread that shares its CPU with other
    processes is overloaded before its own CPU time reaches 100%."""

    def __init__(self) -> None:
        schedstat = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        self._schedstat = schedstat if _readable(schedstat) else None
        self._last_wall = time.monotonic()
        self._last_busy = self._busy()

    def _busy(self) -> float:
        """Seconds on the CPU plus seconds waiting for it (Linux); elsewhere CPU time alone."""
        if self._schedstat is None:
            return time.thread_time()
        on_cpu, waiting = self._schedstat.read_text().split()[:2]
        return (int(on_cpu) + int(waiting)) / 1e9

    def read(self) -> float:
        """Occupancy since the previous call; call it from the thread being measured."""
        wall, busy = time.monotonic(), self._busy()
        elapsed = wall - self._last_wall
        share = (busy - self._last_busy) / elapsed if elapsed > 0 else 0.0
        self._last_wall, self._last_busy = wall, busy
        return min(1.0, max(0.0, share))


def _readable(path: Path) -> bool:
    try:
        fields = path.read_text().split()
        return len(fields) >= 2 and all(field.isdigit() for field in fields[:2])
    except OSError:
        return False
