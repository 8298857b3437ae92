"""What the console shows, as JSON: queue calls, the operator, the queue figures.

The page sees only these shapes, never the queue's own objects, so the queue can change its
internals without the page noticing. Calls are read from `QueueCall.as_dict()`, the form the
queue's events carry them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..queue import Position, QueueCall, QueueStats

__all__ = [
    "HELD",
    "QUEUED",
    "call_view",
    "directory_view",
    "history_view",
    "operator_view",
    "stats_view",
]

QUEUED = frozenset({"waiting", "offered"})
HELD = frozenset({"with_operator", "connecting"})

_OUTCOMES = {
    "connected": "connected",
    "completed": "completed by the operator",
    "abandoned": "caller hung up",
    "overflowed": "overflowed",
    "failed": "failed",
    "waiting": "sent back to the queue",
    "offered": "sent back to the queue",
    "with_operator": "in progress",
    "connecting": "connecting",
}


def call_view(call: QueueCall | Mapping[str, Any]) -> dict[str, Any]:
    data = call.as_dict() if isinstance(call, QueueCall) else call
    state = data["state"]
    return {
        "id": data["id"],
        "queue": data["queue"],
        "caller": data["caller"],
        "caller_name": data.get("caller_display"),
        "dialed": data["dialed"],
        "exchange": data.get("exchange"),
        "line": data.get("line"),
        "jack": data.get("jack_label"),
        "priority": data.get("priority", 0),
        "emergency": bool(data.get("emergency")),
        "state": state,
        "queued": state in QUEUED,
        "operator": data.get("operator"),
        "connect_to": data.get("connect_to"),
        "enqueued_at": data["enqueued_at"],
        "taken_at": data.get("taken_at"),
    }


def history_view(call: Mapping[str, Any], note: str | None) -> dict[str, Any]:
    view = call_view(call)
    state = view["state"]
    outcome = _OUTCOMES.get(state, state)
    if state in ("connected", "connecting") and call.get("connect_to"):
        outcome = f"{outcome} to {call['connect_to']}"
    view.update(
        connected_at=call.get("connected_at"),
        ended_at=call.get("ended_at"),
        outcome=outcome,
        note=note,
    )
    return view


def operator_view(login: str, position: Position | None, call: QueueCall | None) -> dict[str, Any]:
    if position is None:
        return {
            "login": login,
            "name": None,
            "line": None,
            "queues": [],
            "state": "offline",
            "reason": None,
            "since": None,
            "call": None,
        }
    return {
        "login": position.login,
        "name": position.display_name,
        "line": position.line,
        "queues": list(position.queues),
        "state": position.state.value,
        "reason": position.reason,
        "since": position.since,
        "call": None if call is None else call_view(call),
    }


def stats_view(stats: QueueStats, service_level_seconds: float) -> dict[str, Any]:
    view = dict(stats.as_dict())
    view["service_level_seconds"] = service_level_seconds
    return view


def directory_view(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One directory result, whichever of the usual names its fields have."""

    def first(*names: str) -> Any:
        return next((entry[n] for n in names if entry.get(n) is not None), None)

    return {
        "number": str(first("number") or ""),
        "name": first("name", "display_name"),
        "exchange": first("exchange", "exchange_code"),
        "exchange_name": first("exchange_name"),
        "jack": first("jack", "jack_label"),
    }
