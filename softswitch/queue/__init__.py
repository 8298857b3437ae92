"""The operator queue: calls that wait for a human operator, and the operators' positions.

`QueueService` is the live queue of a node; `states` and `policy` are its pure rules;
`accounts` the operators' passwords (argon2).
"""

from __future__ import annotations

from .accounts import (
    WeakPasswordError,
    add_operator,
    authenticate,
    hash_password,
    set_password,
    verify_password,
)
from .errors import (
    AlreadyTaken,
    NotServing,
    OperatorUnavailable,
    QueueError,
    QueueOverflow,
    UnknownOperator,
    UnknownQueueCall,
)
from .events import Event, Subscription
from .policy import Distribution, OverflowAction, Overflowed, QueueConfig
from .service import QueueService
from .states import (
    EMERGENCY_PRIORITY,
    CallEvent,
    CallState,
    InvalidTransition,
    Position,
    PositionEvent,
    PositionState,
    QueueCall,
)
from .stats import QueueStats, compute_stats

__all__ = [
    "EMERGENCY_PRIORITY",
    "AlreadyTaken",
    "CallEvent",
    "CallState",
    "Distribution",
    "Event",
    "InvalidTransition",
    "NotServing",
    "OperatorUnavailable",
    "OverflowAction",
    "Overflowed",
    "Position",
    "PositionEvent",
    "PositionState",
    "QueueCall",
    "QueueConfig",
    "QueueError",
    "QueueOverflow",
    "QueueService",
    "QueueStats",
    "Subscription",
    "UnknownOperator",
    "UnknownQueueCall",
    "WeakPasswordError",
    "add_operator",
    "authenticate",
    "compute_stats",
    "hash_password",
    "set_password",
    "verify_password",
]
