"""What the router decides for a call: where it goes, with which number, and why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from .plan import Rule

__all__ = [
    "Decision",
    "ExchangeTarget",
    "LineTarget",
    "QueueTarget",
    "RejectTarget",
    "RewriteStep",
    "Target",
    "TargetKind",
    "TrunkTarget",
]


class TargetKind(Enum):
    LINE = "line"
    EXCHANGE = "exchange-local"
    TRUNK = "trunk"
    QUEUE = "queue"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class LineTarget:
    """One line: fork to its registered contacts. `exchange` is None when the directory does
    not know the line's exchange."""

    number: str
    exchange: str | None = None
    kind: ClassVar[TargetKind] = TargetKind.LINE

    def describe(self) -> str:
        where = f" (exchange {self.exchange})" if self.exchange else ""
        return f"line {self.number}{where}"


@dataclass(frozen=True, slots=True)
class ExchangeTarget:
    """An exchange served here: the decision's number is one of its lines."""

    exchange: str
    kind: ClassVar[TargetKind] = TargetKind.EXCHANGE

    def describe(self) -> str:
        return f"exchange {self.exchange}, served here"


@dataclass(frozen=True, slots=True)
class TrunkTarget:
    """SIP URIs to try in order; `timeout` seconds each (None: the proxy's default).
    `exchange` names the exchange the trunk serves, when the route came from one."""

    uris: tuple[str, ...]
    timeout: float | None = None
    exchange: str | None = None
    kind: ClassVar[TargetKind] = TargetKind.TRUNK

    def describe(self) -> str:
        via = f" (exchange {self.exchange})" if self.exchange else ""
        timeout = f", {self.timeout:g} s each" if self.timeout is not None else ""
        return f"trunk {', '.join(self.uris)}{timeout}{via}"


@dataclass(frozen=True, slots=True)
class QueueTarget:
    """An operator queue: an exchange's (`exchange` set, `queue` is its code) or a named one.
    `line` is the line the operator should connect, when the call was for one."""

    queue: str
    exchange: str | None = None
    priority: int = 0
    line: str | None = None
    kind: ClassVar[TargetKind] = TargetKind.QUEUE

    def describe(self) -> str:
        which = f"operator queue of {self.exchange}" if self.exchange else f"queue {self.queue}"
        line = f" for line {self.line}" if self.line else ""
        return f"{which}{line}, priority {self.priority}"


@dataclass(frozen=True, slots=True)
class RejectTarget:
    """A final SIP error response."""

    status: int
    reason: str
    kind: ClassVar[TargetKind] = TargetKind.REJECT

    def describe(self) -> str:
        return f"reject {self.status} {self.reason}"


Target = LineTarget | ExchangeTarget | TrunkTarget | QueueTarget | RejectTarget


@dataclass(frozen=True, slots=True)
class RewriteStep:
    rule: Rule
    before: str
    after: str


@dataclass(slots=True)
class Decision:
    """Where a call goes. `number` is the number the call is sent on (in the request URI): the
    dialed one after normalization and rewrites, or the line a rule delivers to (a night line).
    `rules` are the rules that matched, rewrites first, in order.

    Read-only by convention: it is made on every call, and a frozen dataclass costs four times
    as much to build."""

    target: Target
    number: str
    dialed: str
    rules: tuple[Rule, ...] = ()
    rewrites: tuple[RewriteStep, ...] = ()

    @property
    def kind(self) -> TargetKind:
        return self.target.kind

    @property
    def rule(self) -> Rule | None:
        """The rule that decided (the last one matched), if any."""
        return self.rules[-1] if self.rules else None

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.rules)

    def describe(self) -> str:
        by = f' by rule "{self.rules[-1].name}"' if self.rules else ""
        return f"{self.target.describe()}, number {self.number or '(empty)'}{by}"
