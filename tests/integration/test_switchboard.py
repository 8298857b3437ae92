"""Calls to a manual exchange wait for an operator: 182 Queued, the operator takes the call on
their phone, and caller and operator talk phone to phone. Real pjsua2 phones, real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import (
    connect,
    dial,
    hang_up,
    queued_with_operator,
    registered,
    send_back,
    take,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def board(switch: Softswitch) -> Softswitch:
    """Cedar Falls (CED) is a manual board; its line 5553001 sits on jack J-7."""
    await switch.store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await switch.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    await switch.reload_network()
    return switch


async def test_a_queued_caller_talks_to_the_operator_who_takes_the_call(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    operator = await registered(phone_agent_factory, board, "operator", "5551002", "two-secret")
    await operator.aio.set_auto_answer("operator", "answer", delay=0.2)

    call = await caller.aio.call("caller", dial(board, "5553001"))
    queued = await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    assert queued["state"] == "EARLY"
    assert board.switchboard is not None
    await wait_until(lambda: len(board.switchboard.waiting()) == 1)  # type: ignore[union-attr]
    entry = board.switchboard.waiting()[0]
    assert (entry.caller, entry.dialed, entry.jack_label) == ("5551001", "5553001", "J-7")

    await take(board, entry, "operator-1", "5551002")
    incoming = await operator.aio.wait_event("incoming_call", timeout=5)
    assert "5553001 (J-7)" in incoming["msg"]  # the operator's display shows who and where
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    await asyncio.sleep(1.0)
    assert (await caller.aio.stats(call))["rx_packets"] > 20
    assert (await operator.aio.stats(incoming["call"]))["rx_packets"] > 20

    await caller.aio.hangup(call)
    await operator.aio.wait_event(
        "call_state", call=incoming["call"], state="DISCONNECTED", timeout=5
    )
    assert board.switchboard.waiting() == []


async def test_a_caller_who_hangs_up_while_waiting_is_abandoned(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    call = await caller.aio.call("caller", dial(board, "5553001"))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    await caller.aio.hangup(call)
    ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] == 487
    assert board.switchboard is not None
    await wait_until(lambda: board.switchboard.waiting() == [])  # type: ignore[union-attr]
    await board.store.flush()
    records = await board.store.list_cdrs(line="5553001")
    assert [r.disposition for r in records] == ["abandoned in queue"]
    assert records[0].status == 487 and records[0].queue_wait_seconds is not None


async def test_the_operator_connects_the_caller_and_leaves(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    from .conftest import provision

    await provision(board.store, ("5551003", "three-secret"))
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    operator = await registered(phone_agent_factory, board, "operator", "5551002", "two-secret")
    callee = await registered(phone_agent_factory, board, "callee", "5551003", "three-secret")
    await operator.aio.set_auto_answer("operator", "answer")
    await callee.aio.set_auto_answer("callee", "answer", delay=0.3)

    call = await caller.aio.call("caller", dial(board, "5553001"))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    assert board.switchboard is not None
    await wait_until(lambda: len(board.switchboard.waiting()) == 1)  # type: ignore[union-attr]
    entry = board.switchboard.waiting()[0]
    await take(board, entry, "operator-1", "5551002")
    at_operator = await operator.aio.wait_event("incoming_call", timeout=5)
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)

    await connect(board, entry, "5551003")
    at_callee = await callee.aio.wait_event("incoming_call", timeout=5)
    assert "INVITE" in at_callee["msg"]
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="CONFIRMED")
    # the operator's leg is released; caller and callee talk, phone to phone
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
    await wait_until(lambda: entry.state == "connected")
    before = (await callee.aio.stats(at_callee["call"]))["rx_packets"]
    await asyncio.sleep(1.0)
    after = (await callee.aio.stats(at_callee["call"]))["rx_packets"]
    assert after - before > 20
    caller_stats = await caller.aio.stats(call)
    assert caller_stats["rx_packets"] > 20

    await callee.aio.hangup(at_callee["call"])
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    await board.store.flush()
    (record,) = await board.store.list_cdrs(line="5553001")
    assert record.disposition == "connected by operator"
    assert record.note == "connected to 5551003" and record.ended_by == "callee"
    assert record.queue_wait_seconds is not None and record.queue_wait_seconds >= 0
    assert record.duration_seconds is not None and record.duration_seconds > 1.0


async def caller_with_operator(
    board: Softswitch, phone_agent_factory: Any
) -> tuple[Any, str, Any, dict[str, Any], Any, Any]:
    """Caller 5551001 queued for 5553001 and taken by the operator on 5551002; a third phone
    on 5551003. Returns (caller, call, operator, operator's call event, callee, entry)."""
    from .conftest import provision

    await provision(board.store, ("5551003", "three-secret"))
    callee = await registered(phone_agent_factory, board, "callee", "5551003", "three-secret")
    taken = await queued_with_operator(board, phone_agent_factory)
    return taken.caller, taken.call, taken.operator, taken.at_operator, callee, taken.entry


async def test_the_operators_transfer_key_connects_the_caller(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller, call, operator, at_operator, callee, entry = await caller_with_operator(
        board, phone_agent_factory
    )
    await callee.aio.set_auto_answer("callee", "answer")
    await operator.aio.transfer(at_operator["call"], dial(board, "5551003"))
    at_callee = await callee.aio.wait_event("incoming_call", timeout=5)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="CONFIRMED")
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
    notifies = operator.sip_messages("rx", method="NOTIFY")
    assert any("SIP/2.0 200 OK" in n["msg"] for n in notifies)  # the transfer's outcome
    await wait_until(lambda: entry.state == "connected")
    await asyncio.sleep(0.8)
    assert (await callee.aio.stats(at_callee["call"]))["rx_packets"] > 15
    await caller.aio.hangup(call)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="DISCONNECTED")


async def test_a_busy_destination_brings_the_caller_back_to_the_operator(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller, call, operator, at_operator, callee, entry = await caller_with_operator(
        board, phone_agent_factory
    )
    await callee.aio.set_auto_answer("callee", "reject", code=486)
    assert board.switchboard is not None
    await connect(board, entry, "5551003")
    await callee.aio.wait_event("incoming_call", timeout=5)
    await wait_until(lambda: entry.state == "with operator")
    # still talking with the operator, who can try again
    before = (await operator.aio.stats(at_operator["call"]))["rx_packets"]
    await asyncio.sleep(0.6)
    assert (await operator.aio.stats(at_operator["call"]))["rx_packets"] > before + 10
    assert not caller.events("call_state", call=call, state="DISCONNECTED")
    await operator.aio.hangup(at_operator["call"])
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)


async def test_send_back_holds_the_caller_and_another_operator_takes_it(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller, call, operator, at_operator, second, entry = await caller_with_operator(
        board, phone_agent_factory
    )
    assert board.switchboard is not None
    await send_back(board, entry, "operator-1")
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
    held = await caller.aio.wait_event(
        "sip_msg", direction="rx", method="INVITE", predicate=lambda e: "a=inactive" in e["msg"]
    )
    assert held["msg"]
    assert [w.state for w in board.switchboard.waiting()] == ["waiting"]
    assert not caller.events("call_state", call=call, state="DISCONNECTED")

    # another operator (on 5551003) takes the caller back: media flows again
    await second.aio.set_auto_answer("callee", "answer")
    await take(board, entry, "operator-2", "5551003")
    at_second = await second.aio.wait_event("incoming_call", timeout=5)
    await second.aio.wait_event("call_state", call=at_second["call"], state="CONFIRMED")
    await wait_until(lambda: entry.state == "with operator")
    await asyncio.sleep(0.8)
    assert (await second.aio.stats(at_second["call"]))["rx_packets"] > 15
    await hang_up(board, entry, "operator-2")
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    await second.aio.wait_event("call_state", call=at_second["call"], state="DISCONNECTED")


async def test_callers_waiting_when_the_node_stops_get_a_final_answer(
    board: Softswitch, phone_agent_factory: Any
) -> None:
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    call = await caller.aio.call("caller", dial(board, "5553001"))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    await board.stop()
    ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] == 503
    rejected = caller.sip_messages("rx", status=503)
    assert any("Retry-After: 30" in m["msg"] for m in rejected)


async def test_a_restart_leaves_no_ghost_in_the_queue(
    fresh_database_url: str, tmp_path: Any, phone_agent_factory: Any
) -> None:
    from .conftest import provision, switch_settings

    first = await Softswitch.open(switch_settings(tmp_path), fresh_database_url)
    await provision(first.store, ("5551001", "one-secret"))
    await first.store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await first.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    await first.start()
    caller = await registered(phone_agent_factory, first, "caller", "5551001", "one-secret")
    call = await caller.aio.call("caller", dial(first, "5553001"))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    assert first.queue_service is not None
    await wait_until(lambda: len(first.queue_service.waiting()) == 1)  # type: ignore[union-attr]
    await first.stop()  # the waiting caller is told 503 (see above); the entry must not linger
    second = await Softswitch.open(switch_settings(tmp_path), fresh_database_url)
    await second.start()
    try:
        assert second.queue_service is not None
        assert second.queue_service.waiting() == []
    finally:
        await second.stop()
