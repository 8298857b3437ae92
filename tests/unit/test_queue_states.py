"""The transition tables of queue calls and operator positions: every allowed move, and the
moves that must be refused."""

from __future__ import annotations

import pytest

from softswitch.queue.states import (
    CALL_TRANSITIONS,
    FINAL_STATES,
    LIVE_STATES,
    POSITION_TRANSITIONS,
    CallEvent,
    CallState,
    InvalidTransition,
    Position,
    PositionEvent,
    PositionState,
    QueueCall,
    next_call_state,
    next_position_state,
)

S, E = CallState, CallEvent
P, PE = PositionState, PositionEvent

ALLOWED_CALL_MOVES = [
    (S.WAITING, E.OFFER, S.OFFERED),
    (S.WAITING, E.TAKE, S.WITH_OPERATOR),
    (S.WAITING, E.ABANDON, S.ABANDONED),
    (S.WAITING, E.OVERFLOW, S.OVERFLOWED),
    (S.WAITING, E.FAIL, S.FAILED),
    (S.OFFERED, E.TAKE, S.WITH_OPERATOR),
    (S.OFFERED, E.DECLINE, S.WAITING),
    (S.OFFERED, E.ABANDON, S.ABANDONED),
    (S.OFFERED, E.OVERFLOW, S.OVERFLOWED),
    (S.OFFERED, E.FAIL, S.FAILED),
    (S.WITH_OPERATOR, E.CONNECT, S.CONNECTING),
    (S.WITH_OPERATOR, E.RETURN, S.WAITING),
    (S.WITH_OPERATOR, E.COMPLETE, S.COMPLETED),
    (S.WITH_OPERATOR, E.ABANDON, S.ABANDONED),
    (S.WITH_OPERATOR, E.FAIL, S.FAILED),
    (S.CONNECTING, E.CONNECTED, S.CONNECTED),
    (S.CONNECTING, E.CONNECT_FAILED, S.WITH_OPERATOR),
    (S.CONNECTING, E.RETURN, S.WAITING),
    (S.CONNECTING, E.COMPLETE, S.COMPLETED),
    (S.CONNECTING, E.ABANDON, S.ABANDONED),
    (S.CONNECTING, E.FAIL, S.FAILED),
]

ALLOWED_POSITION_MOVES = [
    (P.OFFLINE, PE.LOGIN, P.AVAILABLE),
    (P.AVAILABLE, PE.LOGOUT, P.OFFLINE),
    (P.AVAILABLE, PE.PAUSE, P.PAUSED),
    (P.AVAILABLE, PE.TAKE, P.BUSY),
    (P.BUSY, PE.RELEASE, P.WRAP_UP),
    (P.BUSY, PE.LOGOUT, P.OFFLINE),
    (P.WRAP_UP, PE.READY, P.AVAILABLE),
    (P.WRAP_UP, PE.TAKE, P.BUSY),
    (P.WRAP_UP, PE.PAUSE, P.PAUSED),
    (P.WRAP_UP, PE.LOGOUT, P.OFFLINE),
    (P.PAUSED, PE.RESUME, P.AVAILABLE),
    (P.PAUSED, PE.PAUSE, P.PAUSED),
    (P.PAUSED, PE.TAKE, P.BUSY),
    (P.PAUSED, PE.LOGOUT, P.OFFLINE),
]


def a_call(**changes: object) -> QueueCall:
    values: dict[str, object] = {
        "id": 7,
        "queue": "CED",
        "exchange": "CED",
        "caller": "5551001",
        "dialed": "5553001",
        "line": "5553001",
        "jack_label": "C-01",
        "node": "node-a",
        "call_id": "abc@host",
        "enqueued_at": 1000.0,
    }
    values.update(changes)
    return QueueCall(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "event", "after"), ALLOWED_CALL_MOVES)
def test_every_allowed_call_move(state: CallState, event: CallEvent, after: CallState) -> None:
    assert next_call_state(state, event) is after


def test_the_call_table_is_exactly_the_allowed_moves() -> None:
    expected = {(state, event): after for state, event, after in ALLOWED_CALL_MOVES}
    assert dict(CALL_TRANSITIONS) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.WAITING, E.CONNECT),  # nobody has it to connect
        (S.WAITING, E.DECLINE),  # not offered
        (S.OFFERED, E.OFFER),
        (S.WITH_OPERATOR, E.TAKE),  # already taken
        (S.WITH_OPERATOR, E.OVERFLOW),  # an operator has it: no queue limit applies
        (S.CONNECTING, E.TAKE),
        (S.CONNECTED, E.ABANDON),
        (S.ABANDONED, E.TAKE),
        (S.OVERFLOWED, E.RETURN),
        (S.FAILED, E.FAIL),
    ],
)
def test_forbidden_call_moves(state: CallState, event: CallEvent) -> None:
    with pytest.raises(InvalidTransition) as caught:
        next_call_state(state, event)
    assert caught.value.state is state and caught.value.event is event
    assert state.value in str(caught.value) and event.value in str(caught.value)


def test_final_states_have_no_way_out() -> None:
    for state in FINAL_STATES:
        assert not [event for (s, event) in CALL_TRANSITIONS if s is state]
    assert {S.WAITING, S.OFFERED, S.WITH_OPERATOR, S.CONNECTING} == LIVE_STATES


def test_a_call_from_queue_to_connected_keeps_its_times() -> None:
    call = a_call()
    offered = call.apply(E.OFFER, 1005.0, offered_to=("ann",))
    assert (offered.state, offered.offered_to, offered.offered_at) == (S.OFFERED, ("ann",), 1005.0)
    taken = offered.apply(E.TAKE, 1008.0, operator="ann")
    assert (taken.state, taken.operator, taken.taken_at, taken.offered_to) == (
        S.WITH_OPERATOR,
        "ann",
        1008.0,
        (),
    )
    assert taken.waited(5000.0) == 8.0
    connecting = taken.apply(E.CONNECT, 1020.0)
    assert connecting.connect_to == "5553001"  # the line the call was for
    connected = connecting.apply(E.CONNECTED, 1030.0)
    assert (connected.state, connected.connected_at, connected.ended_at) == (
        S.CONNECTED,
        1030.0,
        1030.0,
    )
    assert connected.outcome == "connected" and not connected.live
    assert call.state is S.WAITING  # values, not shared state


def test_a_returned_call_waits_again_and_keeps_its_first_answer_time() -> None:
    taken = a_call().apply(E.TAKE, 1010.0, operator="ann")
    back = taken.apply(E.RETURN, 1040.0, note="wrong exchange")
    assert (back.state, back.operator, back.note, back.taken_at) == (
        S.WAITING,
        None,
        "wrong exchange",
        1010.0,
    )
    again = back.apply(E.TAKE, 1050.0, operator="bob")
    assert (again.operator, again.taken_at) == ("bob", 1010.0)


def test_connect_defaults_to_the_number_dialed_and_takes_a_destination() -> None:
    taken = a_call(line=None).apply(E.TAKE, 1.0, operator="ann")
    assert taken.apply(E.CONNECT, 2.0).connect_to == "5553001"
    assert taken.apply(E.CONNECT, 2.0, connect_to="5551300").connect_to == "5551300"


def test_an_offer_needs_operators_and_a_take_an_operator() -> None:
    with pytest.raises(ValueError):
        a_call().apply(E.OFFER, 1.0)
    with pytest.raises(ValueError):
        a_call().apply(E.TAKE, 1.0)


def test_emergency_and_dict() -> None:
    call = a_call(priority=9)
    assert call.emergency and not a_call(priority=8).emergency
    values = call.as_dict()
    assert values["emergency"] is True and values["state"] == "waiting"
    assert values["event"] == "enqueued" and values["outcome"] is None


@pytest.mark.parametrize(("state", "event", "after"), ALLOWED_POSITION_MOVES)
def test_every_allowed_position_move(
    state: PositionState, event: PositionEvent, after: PositionState
) -> None:
    assert next_position_state(state, event) is after


def test_the_position_table_is_exactly_the_allowed_moves() -> None:
    expected = {(state, event): after for state, event, after in ALLOWED_POSITION_MOVES}
    assert dict(POSITION_TRANSITIONS) == expected


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (P.OFFLINE, PE.TAKE),  # not logged in
        (P.OFFLINE, PE.LOGOUT),
        (P.BUSY, PE.TAKE),  # one call at a time
        (P.BUSY, PE.PAUSE),
        (P.AVAILABLE, PE.LOGIN),
        (P.AVAILABLE, PE.RELEASE),
        (P.PAUSED, PE.READY),
    ],
)
def test_forbidden_position_moves(state: PositionState, event: PositionEvent) -> None:
    with pytest.raises(InvalidTransition):
        next_position_state(state, event)


def test_a_position_through_a_call_with_wrap_up() -> None:
    position = Position(login="ann", line="5551002", queues=("CED",))
    on = position.apply(PE.LOGIN, 100.0)
    assert (on.state, on.idle_since, on.since) == (P.AVAILABLE, 100.0, 100.0)
    busy = on.apply(PE.TAKE, 110.0)
    assert busy.state is P.BUSY and busy.idle_since == 100.0
    wrapping = busy.apply(PE.RELEASE, 150.0, wrap_up=10.0)
    assert (wrapping.state, wrapping.wrap_up_until) == (P.WRAP_UP, 160.0)
    ready = wrapping.apply(PE.READY, 160.0)
    assert (ready.state, ready.idle_since, ready.wrap_up_until) == (P.AVAILABLE, 160.0, None)


def test_without_wrap_up_a_released_operator_is_available_at_once() -> None:
    busy = Position(login="ann", line="5551002", state=P.BUSY)
    after = busy.apply(PE.RELEASE, 50.0)
    assert (after.state, after.idle_since) == (P.AVAILABLE, 50.0)


def test_pause_keeps_its_reason_and_resume_clears_it() -> None:
    on = Position(login="ann", line="5551002", state=P.AVAILABLE)
    paused = on.apply(PE.PAUSE, 5.0, reason="lunch")
    assert (paused.state, paused.reason) == (P.PAUSED, "lunch")
    assert paused.apply(PE.PAUSE, 6.0, reason="training").reason == "training"
    resumed = paused.apply(PE.RESUME, 7.0)
    assert (resumed.state, resumed.reason) == (P.AVAILABLE, None)
    assert on.serves("CED") is False
