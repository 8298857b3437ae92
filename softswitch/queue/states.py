"""Queue calls and operator positions: their states, the events that move them, and the
tables of allowed transitions. Pure data and functions; times are epoch seconds given by the
caller.

A queue call (DESIGN.md, "Calls"):

    waiting ─offer─▶ offered ─decline─▶ waiting          presented to operators, unanswered
    waiting, offered ─take─▶ with_operator               the operator's phone rings, they talk
    with_operator ─connect─▶ connecting ─connected─▶ connected
    connecting ─connect_failed─▶ with_operator          the destination did not answer
    with_operator, connecting ─return─▶ waiting          sent back to the queue
    with_operator, connecting ─complete─▶ completed      ended by the operator, not connected
    waiting, offered ─overflow─▶ overflowed              a queue limit
    any live state ─abandon─▶ abandoned, ─fail─▶ failed  the caller hung up; the call broke

connected, completed, abandoned, overflowed and failed are final.

An operator position:

    offline ─login─▶ available ─take─▶ busy ─release─▶ wrap_up ─ready─▶ available
    available, wrap_up ─pause─▶ paused ─resume─▶ available
    paused, wrap_up ─take─▶ busy          a call picked by hand (a lamp on the board)
    any state but offline ─logout─▶ offline

Only an available operator is offered calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from .errors import QueueError

__all__ = [
    "CALL_TRANSITIONS",
    "EMERGENCY_PRIORITY",
    "FINAL_STATES",
    "HELD_STATES",
    "LIVE_STATES",
    "POSITION_TRANSITIONS",
    "QUEUED_STATES",
    "CallEvent",
    "CallState",
    "InvalidTransition",
    "Position",
    "PositionEvent",
    "PositionState",
    "QueueCall",
    "next_call_state",
    "next_position_state",
    "position_event_for",
]

# A call of this priority or higher is an emergency: it goes to the head of its queue and every
# console is alerted, whichever queues its operator serves.
EMERGENCY_PRIORITY = 9


class InvalidTransition(QueueError):
    """An event that the table does not allow in the current state."""

    def __init__(self, state: StrEnum, event: StrEnum, what: str) -> None:
        super().__init__(f"{what} in state {state.value} cannot take event {event.value}")
        self.state = state
        self.event = event


# -- queue calls ---------------------------------------------------------------------------


class CallState(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # presented to one operator (longest idle) or several (ring all)
    WITH_OPERATOR = "with_operator"  # taken: the operator's phone rings, then they talk
    CONNECTING = "connecting"  # the operator asked for the destination; its leg is ringing
    CONNECTED = "connected"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    FAILED = "failed"


class CallEvent(StrEnum):
    """What happens to a queue call; the value is the name it has in events and rows."""

    ENQUEUE = "enqueued"  # the call entered the queue (creates it; not in the table)
    OFFER = "offered"
    DECLINE = "declined"  # the offer ran out (ring timeout) or was turned down
    TAKE = "taken"
    CONNECT = "connecting"
    CONNECT_FAILED = "connect_failed"  # the destination did not answer; back with the operator
    CONNECTED = "connected"
    RETURN = "returned"  # the operator sent the call back to the queue
    COMPLETE = "completed"
    ABANDON = "abandoned"
    OVERFLOW = "overflowed"
    FAIL = "failed"


_W, _O, _T = CallState.WAITING, CallState.OFFERED, CallState.WITH_OPERATOR
_C = CallState.CONNECTING

CALL_TRANSITIONS: Mapping[tuple[CallState, CallEvent], CallState] = {
    (_W, CallEvent.OFFER): _O,
    (_W, CallEvent.TAKE): _T,
    (_W, CallEvent.ABANDON): CallState.ABANDONED,
    (_W, CallEvent.OVERFLOW): CallState.OVERFLOWED,
    (_W, CallEvent.FAIL): CallState.FAILED,
    (_O, CallEvent.TAKE): _T,
    (_O, CallEvent.DECLINE): _W,
    (_O, CallEvent.ABANDON): CallState.ABANDONED,
    (_O, CallEvent.OVERFLOW): CallState.OVERFLOWED,
    (_O, CallEvent.FAIL): CallState.FAILED,
    (_T, CallEvent.CONNECT): _C,
    (_T, CallEvent.RETURN): _W,
    (_T, CallEvent.COMPLETE): CallState.COMPLETED,
    (_T, CallEvent.ABANDON): CallState.ABANDONED,
    (_T, CallEvent.FAIL): CallState.FAILED,
    (_C, CallEvent.CONNECTED): CallState.CONNECTED,
    (_C, CallEvent.CONNECT_FAILED): _T,
    (_C, CallEvent.RETURN): _W,
    (_C, CallEvent.COMPLETE): CallState.COMPLETED,
    (_C, CallEvent.ABANDON): CallState.ABANDONED,
    (_C, CallEvent.FAIL): CallState.FAILED,
}

FINAL_STATES = frozenset(
    {
        CallState.CONNECTED,
        CallState.COMPLETED,
        CallState.ABANDONED,
        CallState.OVERFLOWED,
        CallState.FAILED,
    }
)
LIVE_STATES = frozenset(CallState) - FINAL_STATES
# States in which the call waits for an operator (the queue proper).
QUEUED_STATES = frozenset({CallState.WAITING, CallState.OFFERED})
# States in which an operator has the call.
HELD_STATES = frozenset({CallState.WITH_OPERATOR, CallState.CONNECTING})


def next_call_state(state: CallState, event: CallEvent) -> CallState:
    """The state after `event`; raises `InvalidTransition` if the table has no such move."""
    try:
        return CALL_TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event, "a queue call") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCall:
    """A call's stay in one queue. `id` is the database's; `call_id` the SIP Call-ID of the
    caller's INVITE, held by `node`. `line` and `jack_label` name the line the call is for
    when it was dialed to one (a manual exchange's line), `connect_to` the number the operator
    is connecting it to. `offered_to` are the operators it is offered to now. `event` is what
    last happened to it and `revision` counts its changes."""

    id: int
    queue: str
    caller: str
    dialed: str
    node: str
    call_id: str
    enqueued_at: float
    exchange: str | None = None
    caller_display: str | None = None
    line: str | None = None
    jack_label: str | None = None
    priority: int = 0
    state: CallState = CallState.WAITING
    event: CallEvent = CallEvent.ENQUEUE
    operator: str | None = None
    offered_to: tuple[str, ...] = ()
    connect_to: str | None = None
    hops: int = 0
    offered_at: float | None = None
    taken_at: float | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    note: str | None = None
    revision: int = 0

    @property
    def emergency(self) -> bool:
        return self.priority >= EMERGENCY_PRIORITY

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def queued(self) -> bool:
        """Waiting for an operator (waiting or offered)."""
        return self.state in QUEUED_STATES

    @property
    def outcome(self) -> str | None:
        return None if self.live else self.state.value

    def waited(self, now: float) -> float:
        """Seconds the caller has waited for an operator (until taken, or until now)."""
        end = self.taken_at if self.taken_at is not None else (self.ended_at or now)
        return max(0.0, end - self.enqueued_at)

    def apply(
        self,
        event: CallEvent,
        now: float,
        *,
        operator: str | None = None,
        offered_to: tuple[str, ...] = (),
        connect_to: str | None = None,
        note: str | None = None,
    ) -> QueueCall:
        """The call after `event` at `now`. Raises `InvalidTransition`.

        TAKE needs `operator`; OFFER needs `offered_to`; CONNECT takes `connect_to` (default:
        the line the call is for, else the number dialed). `note` replaces the note if given.
        """
        state = next_call_state(self.state, event)
        changes: dict[str, Any] = {"state": state, "event": event}
        if note is not None:
            changes["note"] = note
        if event is CallEvent.OFFER:
            if not offered_to:
                raise ValueError("an offer needs at least one operator")
            changes.update(offered_to=tuple(offered_to), offered_at=now)
        elif event is CallEvent.DECLINE:
            changes["offered_to"] = ()
        elif event is CallEvent.TAKE:
            if not operator:
                raise ValueError("taking a call needs an operator")
            changes.update(operator=operator, offered_to=())
            if self.taken_at is None:  # the first answer is what the caller waited for
                changes["taken_at"] = now
        elif event is CallEvent.CONNECT:
            changes["connect_to"] = connect_to or self.connect_to or self.line or self.dialed
        elif event is CallEvent.CONNECTED:
            changes["connected_at"] = now
        elif event is CallEvent.RETURN:
            changes.update(operator=None, offered_to=(), connect_to=None)
        if state in FINAL_STATES:
            changes.update(ended_at=now, offered_to=())
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (times in epoch seconds)."""
        return {
            "id": self.id,
            "queue": self.queue,
            "exchange": self.exchange,
            "caller": self.caller,
            "caller_display": self.caller_display,
            "dialed": self.dialed,
            "line": self.line,
            "jack_label": self.jack_label,
            "priority": self.priority,
            "emergency": self.emergency,
            "state": self.state.value,
            "event": self.event.value,
            "operator": self.operator,
            "offered_to": list(self.offered_to),
            "connect_to": self.connect_to,
            "node": self.node,
            "call_id": self.call_id,
            "hops": self.hops,
            "enqueued_at": self.enqueued_at,
            "offered_at": self.offered_at,
            "taken_at": self.taken_at,
            "connected_at": self.connected_at,
            "ended_at": self.ended_at,
            "outcome": self.outcome,
            "note": self.note,
        }


# -- operator positions --------------------------------------------------------------------


class PositionState(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"
    PAUSED = "paused"
    WRAP_UP = "wrap_up"


class PositionEvent(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    PAUSE = "pause"
    RESUME = "resume"
    TAKE = "take"  # the operator took a call
    RELEASE = "release"  # the call left the operator (connected, returned, ended)
    READY = "ready"  # the wrap-up time is over


_OFF, _AV, _BU = PositionState.OFFLINE, PositionState.AVAILABLE, PositionState.BUSY
_PA, _WR = PositionState.PAUSED, PositionState.WRAP_UP

POSITION_TRANSITIONS: Mapping[tuple[PositionState, PositionEvent], PositionState] = {
    (_OFF, PositionEvent.LOGIN): _AV,
    (_AV, PositionEvent.LOGOUT): _OFF,
    (_AV, PositionEvent.PAUSE): _PA,
    (_AV, PositionEvent.TAKE): _BU,
    (_BU, PositionEvent.RELEASE): _WR,
    (_BU, PositionEvent.LOGOUT): _OFF,
    (_WR, PositionEvent.READY): _AV,
    (_WR, PositionEvent.TAKE): _BU,
    (_WR, PositionEvent.PAUSE): _PA,
    (_WR, PositionEvent.LOGOUT): _OFF,
    (_PA, PositionEvent.RESUME): _AV,
    (_PA, PositionEvent.PAUSE): _PA,  # a new reason
    (_PA, PositionEvent.TAKE): _BU,
    (_PA, PositionEvent.LOGOUT): _OFF,
}


def next_position_state(state: PositionState, event: PositionEvent) -> PositionState:
    """The state after `event`; raises `InvalidTransition` if the table has no such move."""
    try:
        return POSITION_TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state, event, "an operator position") from None


def position_event_for(current: PositionState, target: PositionState) -> PositionEvent:
    """The event an operator asks for to go from `current` to `target` (`busy` and `wrap_up`
    are not asked for: the calls bring them)."""
    if target is PositionState.OFFLINE:
        return PositionEvent.LOGOUT
    if target is PositionState.PAUSED:
        return PositionEvent.PAUSE
    if target is PositionState.AVAILABLE:
        return {
            PositionState.OFFLINE: PositionEvent.LOGIN,
            PositionState.PAUSED: PositionEvent.RESUME,
            PositionState.WRAP_UP: PositionEvent.READY,
        }.get(current, PositionEvent.LOGIN)
    raise QueueError(f"an operator is {target.value} by the calls, not by asking")


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """An operator at the switchboard: the phone `line` the softswitch rings for them, the
    queues they serve, and their state since `since`. `idle_since` is when they last became
    available (the longest idle is offered first); `wrap_up_until` ends their wrap-up."""

    login: str
    line: str
    queues: tuple[str, ...] = ()
    display_name: str | None = None
    state: PositionState = PositionState.OFFLINE
    reason: str | None = None
    since: float = 0.0
    idle_since: float | None = None
    wrap_up_until: float | None = None
    revision: int = 0

    def serves(self, queue: str) -> bool:
        return queue in self.queues

    def apply(
        self,
        event: PositionEvent,
        now: float,
        *,
        reason: str | None = None,
        wrap_up: float = 0.0,
    ) -> Position:
        """The position after `event` at `now`. Raises `InvalidTransition`.

        PAUSE keeps `reason` ("lunch", "training"). RELEASE starts `wrap_up` seconds of wrap-up;
        with none, the operator is available at once.
        """
        state = next_position_state(self.state, event)
        changes: dict[str, Any] = {"state": state, "since": now, "reason": None}
        if state is PositionState.PAUSED:
            changes["reason"] = reason
        if state is PositionState.AVAILABLE:
            changes["idle_since"] = now
        if state is PositionState.WRAP_UP:
            if wrap_up <= 0:
                return replace(self, **changes).apply(PositionEvent.READY, now)
            changes["wrap_up_until"] = now + wrap_up
        else:
            changes["wrap_up_until"] = None
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "login": self.login,
            "display_name": self.display_name,
            "line": self.line,
            "queues": list(self.queues),
            "state": self.state.value,
            "reason": self.reason,
            "since": self.since,
            "idle_since": self.idle_since,
            "wrap_up_until": self.wrap_up_until,
        }
