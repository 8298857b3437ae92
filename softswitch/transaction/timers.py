"""Timer values of the transaction layer: RFC 3261 §17 and Table 4 (appendix A), RFC 6026 §8.11.

T1, T2 and T4 are the base values; every transaction timer derives from them. A transaction
reads the set for its transport, computed once per configuration:

| timer | unreliable (UDP)      | reliable (TCP, TLS) | section                 |
| ----- | --------------------- | ------------------- | ----------------------- |
| A     | T1, doubling          | not used            | §17.1.1.2               |
| B     | 64*T1                 | 64*T1               | §17.1.1.2               |
| D     | 32 s or more          | 0                   | §17.1.1.2               |
| E     | T1, doubling up to T2 | not used            | §17.1.2.2               |
| F     | 64*T1                 | 64*T1               | §17.1.2.2               |
| G     | T1, doubling up to T2 | not used            | §17.2.1                 |
| H     | 64*T1                 | 64*T1               | §17.2.1                 |
| I     | T4                    | 0                   | §17.2.1                 |
| J     | 64*T1                 | 0                   | §17.2.2                 |
| K     | T4                    | 0                   | §17.1.2.2               |
| L     | 64*T1                 | 64*T1               | RFC 6026 §8.7           |
| M     | 64*T1                 | 64*T1               | RFC 6026 §8.4           |

Timer C (§16.6 bullet 11, "more than 3 minutes") belongs to a proxy, not to a transaction; it
lives here so that every timer value is configured in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class TransportTimers:
    """The timer values for one kind of transport. `None`: the timer is not used."""

    __slots__ = ("a", "b", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "t2")

    def __init__(self, t1: float, t2: float, t4: float, timer_d: float, reliable: bool) -> None:
        long = 64 * t1
        retransmit = None if reliable else t1
        self.t2 = t2
        self.a = retransmit
        self.b = long
        self.d = 0.0 if reliable else timer_d
        self.e = retransmit
        self.f = long
        self.g = retransmit
        self.h = long
        self.i = 0.0 if reliable else t4
        self.j = 0.0 if reliable else long
        self.k = 0.0 if reliable else t4
        self.l = long
        self.m = long

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)}" for name in self.__slots__)
        return f"TransportTimers({values})"


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """T1 (RTT estimate), T2 (longest retransmit interval), T4 (network lifetime of a message),
    Timer C of a proxy and Timer D (at least 32 s, §17.1.1.2), in seconds."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_c: float = 180.0
    timer_d: float = 32.0
    unreliable: TransportTimers = field(init=False, repr=False, compare=False)
    reliable: TransportTimers = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.t1 <= self.t2:
            raise ValueError(f"need 0 < T1 <= T2, got T1={self.t1} T2={self.t2}")
        if self.t4 <= 0:
            raise ValueError(f"T4 must be positive, got {self.t4}")
        if self.timer_c <= 0 or self.timer_d <= 0:
            raise ValueError(f"timers must be positive: C={self.timer_c} D={self.timer_d}")
        unreliable = TransportTimers(self.t1, self.t2, self.t4, self.timer_d, reliable=False)
        reliable = TransportTimers(self.t1, self.t2, self.t4, self.timer_d, reliable=True)
        object.__setattr__(self, "unreliable", unreliable)
        object.__setattr__(self, "reliable", reliable)

    def for_transport(self, reliable: bool) -> TransportTimers:
        return self.reliable if reliable else self.unreliable


DEFAULT_TIMERS = TimerConfig()
