"""Between the store's rows and the queue's values."""

from __future__ import annotations

from softswitch.store import OperatorRow, PositionChange, QueueCallRow, QueueConfigRow

from .policy import Distribution, QueueConfig
from .states import CallEvent, CallState, Position, PositionState, QueueCall

__all__ = [
    "call_from_row",
    "call_to_row",
    "config_from_row",
    "config_to_row",
    "position_change",
    "position_from_row",
]


def call_from_row(row: QueueCallRow) -> QueueCall:
    return QueueCall(
        id=row.id,
        queue=row.queue,
        exchange=row.exchange,
        caller=row.caller,
        caller_display=row.caller_display,
        dialed=row.dialed,
        line=row.line,
        jack_label=row.jack_label,
        priority=row.priority,
        state=CallState(row.state),
        event=CallEvent(row.event),
        operator=row.operator,
        offered_to=row.offered_to,
        connect_to=row.connect_to,
        node=row.node,
        call_id=row.call_id,
        hops=row.hops,
        enqueued_at=row.enqueued_at,
        offered_at=row.offered_at,
        taken_at=row.taken_at,
        connected_at=row.connected_at,
        ended_at=row.ended_at,
        note=row.note,
        revision=row.revision,
    )


def call_to_row(call: QueueCall) -> QueueCallRow:
    return QueueCallRow(
        id=call.id,
        queue=call.queue,
        exchange=call.exchange,
        caller=call.caller,
        caller_display=call.caller_display,
        dialed=call.dialed,
        line=call.line,
        jack_label=call.jack_label,
        priority=call.priority,
        state=call.state.value,
        event=call.event.value,
        operator=call.operator,
        offered_to=call.offered_to,
        connect_to=call.connect_to,
        node=call.node,
        call_id=call.call_id,
        hops=call.hops,
        enqueued_at=call.enqueued_at,
        offered_at=call.offered_at,
        taken_at=call.taken_at,
        connected_at=call.connected_at,
        ended_at=call.ended_at,
        outcome=call.outcome,
        note=call.note,
        revision=call.revision,
    )


def position_from_row(row: OperatorRow) -> Position:
    return Position(
        login=row.login,
        display_name=row.display_name,
        line=row.line_number,
        queues=row.queues,
        state=PositionState(row.position),
        reason=row.position_reason,
        since=row.position_since,
        idle_since=row.idle_since,
        wrap_up_until=row.wrap_up_until,
        revision=row.revision,
    )


def position_change(old: Position, new: Position) -> PositionChange:
    return PositionChange(
        login=new.login,
        expected=old.state.value,
        position=new.state.value,
        reason=new.reason,
        since=new.since,
        idle_since=new.idle_since,
        wrap_up_until=new.wrap_up_until,
    )


def config_from_row(row: QueueConfigRow) -> QueueConfig:
    return QueueConfig(
        queue=row.queue,
        distribution=Distribution(row.distribution),
        ring_timeout=row.ring_timeout,
        max_wait=row.max_wait,
        max_length=row.max_length,
        overflow_queue=row.overflow_queue,
        overflow_status=row.overflow_status,
        retry_after=row.retry_after,
        service_level_seconds=row.service_level_seconds,
        wrap_up_seconds=row.wrap_up_seconds,
    )


def config_to_row(config: QueueConfig) -> QueueConfigRow:
    return QueueConfigRow(
        queue=config.queue,
        distribution=config.distribution.value,
        ring_timeout=config.ring_timeout,
        max_wait=config.max_wait,
        max_length=config.max_length,
        overflow_queue=config.overflow_queue,
        overflow_status=config.overflow_status,
        retry_after=config.retry_after,
        service_level_seconds=config.service_level_seconds,
        wrap_up_seconds=config.wrap_up_seconds,
    )
