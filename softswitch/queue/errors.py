"""Errors of the operator queue. Each message is one line, fit for a console or a log."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .policy import OverflowAction
    from .states import QueueCall

__all__ = [
    "AlreadyTaken",
    "NotServing",
    "OperatorUnavailable",
    "QueueError",
    "QueueOverflow",
    "UnknownOperator",
    "UnknownQueueCall",
]


class QueueError(Exception):
    """Base class of the queue's errors."""


class UnknownQueueCall(QueueError, LookupError):
    def __init__(self, which: int | str) -> None:
        super().__init__(f"no queue call {which}")
        self.which = which


class UnknownOperator(QueueError, LookupError):
    def __init__(self, login: str) -> None:
        super().__init__(f"no operator {login}")
        self.login = login


class AlreadyTaken(QueueError):
    """Another operator took the call first (or it left the queue)."""

    def __init__(self, call: QueueCall) -> None:
        who = f" by {call.operator}" if call.operator else ""
        super().__init__(f"call {call.id} was already taken{who} (it is {call.state.value})")
        self.call = call


class OperatorUnavailable(QueueError):
    """The operator cannot take a call now (offline, or busy with another)."""

    def __init__(self, login: str, state: str) -> None:
        super().__init__(f"operator {login} cannot take a call while {state}")
        self.login = login
        self.state = state


class NotServing(QueueError):
    def __init__(self, login: str, queue: str) -> None:
        super().__init__(f"operator {login} does not serve queue {queue}")
        self.login = login
        self.queue = queue


class QueueOverflow(QueueError):
    """The queue turned the call away: answer it `status` `reason`, with `Retry-After:
    retry_after` when set. `call` is its (final) queue entry."""

    def __init__(self, call: QueueCall, action: OverflowAction) -> None:
        super().__init__(f"queue {call.queue} turned call {call.id} away: {action.why}")
        self.call = call
        self.action = action
        self.status = action.status or 480
        self.reason = action.reason or "Temporarily Unavailable"
        self.retry_after = action.retry_after
