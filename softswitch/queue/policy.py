"""Who is answered first, who is offered which call, and when a queue gives up: pure functions
fed the calls, the positions, each queue's settings and `now`.

- Order: the highest priority first (an emergency, priority 9, heads every queue), then the
  longest waiting (FIFO), then the lowest id.
- Distribution, per queue: `manual` (every console sees the queue and an operator picks a
  call), `longest_idle` (the call is offered to the available operator serving the queue who
  has been idle longest; after `ring_timeout` seconds without a take it goes to the next one),
  `ring_all` (offered to every available operator serving the queue at once; the first to take
  it has it).
- Limits: a call that waited `max_wait` seconds, or arrives at a queue holding `max_length`
  calls, overflows: to `overflow_queue` if there is one (at most `MAX_HOPS` times for one
  call), else it is answered `overflow_status` with `Retry-After: retry_after`. An emergency
  call is never turned away: it may move to the overflow queue, otherwise it stays.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .states import CallState, Position, PositionState, QueueCall

__all__ = [
    "MAX_HOPS",
    "Decisions",
    "Distribution",
    "Offer",
    "Overflow",
    "OverflowAction",
    "Overflowed",
    "QueueConfig",
    "Withdraw",
    "admit",
    "decide",
    "in_order",
    "order_key",
    "overflow_action",
]

# A call moves from queue to queue at most this often; then the last queue's status answers it.
MAX_HOPS = 3

# Statuses (RFC 3261 §21) a queue may answer an overflowing call with, and their reasons.
_REASONS = {
    480: "Temporarily Unavailable",
    486: "Busy Here",
    503: "Service Unavailable",
    600: "Busy Everywhere",
}


class Distribution(StrEnum):
    MANUAL = "manual"
    LONGEST_IDLE = "longest_idle"
    RING_ALL = "ring_all"


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    """One queue's settings (seconds for times). A queue nobody configured gets these
    defaults: manual distribution and no limits."""

    queue: str
    distribution: Distribution = Distribution.MANUAL
    ring_timeout: float = 15.0
    max_wait: float | None = None
    max_length: int | None = None
    overflow_queue: str | None = None
    overflow_status: int = 480
    retry_after: int | None = None
    service_level_seconds: float = 20.0
    wrap_up_seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "queue": self.queue,
            "distribution": self.distribution.value,
            "ring_timeout": self.ring_timeout,
            "max_wait": self.max_wait,
            "max_length": self.max_length,
            "overflow_queue": self.overflow_queue,
            "overflow_status": self.overflow_status,
            "retry_after": self.retry_after,
            "service_level_seconds": self.service_level_seconds,
            "wrap_up_seconds": self.wrap_up_seconds,
        }


@dataclass(frozen=True, slots=True)
class OverflowAction:
    """Where an overflowing call goes: to `queue`, or answered `status` `reason` (with
    `Retry-After: retry_after` when set). `why` says which limit it hit."""

    why: str
    queue: str | None = None
    status: int | None = None
    reason: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Offer:
    """Offer call `call_id` to `operators` (one for longest idle, several for ring all)."""

    call_id: int
    operators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Withdraw:
    """The offer of call `call_id` to `operators` rang out: back to waiting, next operator."""

    call_id: int
    operators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overflow:
    """Call `call_id` hit a limit of its queue; `action` says where it goes."""

    call_id: int
    action: OverflowAction


@dataclass(frozen=True, slots=True)
class Overflowed:
    """A call a queue limit sent away. `moved_to` is its new entry when it went to another
    queue (it still waits: nothing to answer); otherwise the SIP side answers the caller
    `status` `reason`, with `Retry-After: retry_after` when set."""

    call: QueueCall
    action: OverflowAction
    moved_to: QueueCall | None = None

    @property
    def must_answer(self) -> bool:
        return self.moved_to is None

    @property
    def status(self) -> int:
        return self.action.status or 480

    @property
    def reason(self) -> str:
        return self.action.reason or "Temporarily Unavailable"

    @property
    def retry_after(self) -> int | None:
        return self.action.retry_after


@dataclass(slots=True)
class Decisions:
    """What one tick should do, in this order: overflows, withdrawals, offers, then the
    operators whose wrap-up is over."""

    overflows: list[Overflow] = field(default_factory=list)
    withdrawals: list[Withdraw] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.overflows or self.withdrawals or self.offers or self.ready)


def order_key(call: QueueCall) -> tuple[int, float, int]:
    """Sort key: highest priority first, then first come, first served."""
    return (-call.priority, call.enqueued_at, call.id)


def in_order(calls: Iterable[QueueCall]) -> list[QueueCall]:
    return sorted(calls, key=order_key)


def overflow_action(config: QueueConfig, call: QueueCall, why: str) -> OverflowAction | None:
    """Where `call` goes when it overflows `config`'s queue for the reason `why`; None if it
    stays (an emergency call with nowhere to move to)."""
    if config.overflow_queue and config.overflow_queue != call.queue and call.hops < MAX_HOPS:
        return OverflowAction(why, queue=config.overflow_queue)
    if call.emergency:
        return None
    status = config.overflow_status
    return OverflowAction(
        why,
        status=status,
        reason=_REASONS.get(status, "Operator Queue Overflow"),
        retry_after=config.retry_after,
    )


def admit(config: QueueConfig, call: QueueCall, queued: int) -> OverflowAction | None:
    """None if `call` may join a queue that holds `queued` waiting calls; else where it goes."""
    if config.max_length is None or queued < config.max_length:
        return None
    return overflow_action(config, call, f"queue {config.queue} is full")


def decide(
    now: float,
    calls: Iterable[QueueCall],
    positions: Iterable[Position],
    config_for: Callable[[str], QueueConfig],
    *,
    node: str | None = None,
    declined: Mapping[int, Collection[str]] | None = None,
) -> Decisions:
    """What to do at `now`. `calls` are every live call (so that operators with an offer
    pending anywhere are not offered another); only the calls held by `node` (all with None)
    are overflowed, withdrawn or offered. `declined` has, per call, the operators whose offer of
    it rang out: the next offer goes to someone else while anyone else is left."""
    declined = declined or {}
    decisions = Decisions()
    positions = list(positions)
    ordered = in_order(call for call in calls if call.live)
    mine = [c for c in ordered if c.queued and (node is None or c.node == node)]

    overflowing: set[int] = set()
    for call in mine:
        config = config_for(call.queue)
        if config.max_wait is not None and now - call.enqueued_at >= config.max_wait:
            action = overflow_action(config, call, f"waited {config.max_wait:g} s")
            if action is not None:
                decisions.overflows.append(Overflow(call.id, action))
                overflowing.add(call.id)

    withdrawn: set[int] = set()
    rang_out: set[str] = set()
    available = {p.login for p in positions if p.state is PositionState.AVAILABLE}
    for call in mine:
        if call.id in overflowing or call.state is not CallState.OFFERED:
            continue
        ring_timeout = config_for(call.queue).ring_timeout
        rang = call.offered_at is not None and now - call.offered_at >= ring_timeout
        if rang or not available.intersection(call.offered_to):  # or nobody left to take it
            decisions.withdrawals.append(Withdraw(call.id, call.offered_to))
            withdrawn.add(call.id)
            rang_out.update(call.offered_to)

    for position in positions:
        if position.state is PositionState.WRAP_UP and (
            position.wrap_up_until is None or position.wrap_up_until <= now
        ):
            decisions.ready.append(position.login)

    engaged = {login for c in ordered if c.id not in withdrawn for login in c.offered_to}
    engaged.update(c.operator for c in ordered if c.operator is not None)
    ready = set(decisions.ready)
    free = [
        p
        for p in positions
        if (p.state is PositionState.AVAILABLE or p.login in ready)
        and p.login not in engaged
        and p.login not in rang_out
    ]
    free.sort(key=lambda p: (_idle_since(p, now), p.login))

    for call in mine:
        if not free:
            break
        if call.id in overflowing:
            continue
        if call.state is not CallState.WAITING and call.id not in withdrawn:
            continue
        config = config_for(call.queue)
        if config.distribution is Distribution.MANUAL:
            continue
        eligible = [p for p in free if p.serves(call.queue)]
        if not eligible and call.emergency:
            eligible = list(free)  # anyone free rather than nobody
        if not eligible:
            continue
        if config.distribution is Distribution.LONGEST_IDLE:
            tried = declined.get(call.id, ())
            chosen = [next((p for p in eligible if p.login not in tried), eligible[0])]
        else:
            chosen = eligible
        decisions.offers.append(Offer(call.id, tuple(p.login for p in chosen)))
        for position in chosen:
            free.remove(position)
    return decisions


def _idle_since(position: Position, now: float) -> float:
    if position.state is PositionState.WRAP_UP:
        return position.wrap_up_until or now
    return position.idle_since if position.idle_since is not None else position.since
