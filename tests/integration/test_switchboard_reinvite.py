"""Session changes inside a switchboard call: a re-INVITE (or UPDATE) on one leg of the B2BUA is
carried to the other leg with the same SDP, and the other phone's answer comes back. Real
pjsua2 phones (hold and resume), real PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import connect, hang_up, queued_with_operator, registered, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
async def board(switch: Softswitch) -> Softswitch:
    """Cedar Falls (CED) is a manual board with line 5553001; 5551003 is a third phone."""
    from .conftest import provision

    await switch.store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await switch.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    await provision(switch.store, ("5551003", "three-secret"))
    await switch.reload_network()
    return switch


async def with_operator(board: Softswitch, phones: Any) -> tuple[Any, str, Any, str, Any, Any]:
    """Caller 5551001 queued for 5553001 and talking with the operator on 5551002. Returns
    (caller, call, operator, operator's call, third phone 5551003, queue entry)."""
    third = await registered(phones, board, "callee", "5551003", "three-secret")
    taken = await queued_with_operator(board, phones)
    return taken.caller, taken.call, taken.operator, taken.operator_call, third, taken.entry


async def connected(board: Softswitch, phones: Any) -> tuple[Any, str, Any, str, Any]:
    """The caller connected by the operator to 5551003. Returns (caller, call, callee,
    callee's call, entry)."""
    caller, call, operator, op_call, callee, entry = await with_operator(board, phones)
    await callee.aio.set_auto_answer("callee", "answer")
    assert board.switchboard is not None
    await connect(board, entry, "5551003")
    at_callee = await callee.aio.wait_event("incoming_call", timeout=5)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="CONFIRMED")
    await operator.aio.wait_event("call_state", call=op_call, state="DISCONNECTED", timeout=5)
    await wait_until(lambda: entry.state == "connected")
    return caller, call, callee, at_callee["call"], entry


def reinvites(agent: Any, direction: str, text: str) -> list[dict[str, Any]]:
    """The in-dialog INVITEs `agent` sent or received whose SDP has `text`."""
    return [
        m
        for m in agent.sip_messages(direction, method="INVITE")
        if "tag=" in _to(m) and text in m["msg"]
    ]


def _to(message: dict[str, Any]) -> str:
    return next((v for n, v in message["headers"] if n.lower() in ("to", "t")), "")


async def test_a_connected_caller_puts_the_destination_on_hold_and_back(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    caller, call, callee, at_callee, _ = await connected(board, phone_agent_factory)

    await caller.aio.hold(call)
    # the destination gets the caller's own hold offer; the caller gets the 200 (with the
    # destination's answer) and goes on hold
    held = await callee.aio.wait_event(
        "sip_msg",
        direction="rx",
        method="INVITE",
        predicate=lambda m: "a=sendonly" in m["msg"] and "tag=" in _to(m),
    )
    assert "a=sendonly" in held["msg"]
    await media_is(caller, call, "LOCAL_HOLD")
    await media_is(callee, at_callee, "REMOTE_HOLD")
    ok = [
        m
        for m in caller.sip_messages("rx", status=200)
        if m["cseq_method"] == "INVITE" and "a=recvonly" in m["msg"]
    ]
    assert ok, "the caller got no 200 with the destination's answer"
    sent = reinvites(caller, "tx", "a=sendonly")[0]
    assert _sdp_media(sent["msg"]) == _sdp_media(held["msg"])  # the same SDP, passed through

    await caller.aio.unhold(call)
    await callee.aio.wait_event(
        "sip_msg",
        direction="rx",
        method="INVITE",
        predicate=lambda m: "a=sendrecv" in m["msg"] and "tag=" in _to(m),
    )
    await media_is(caller, call, "ACTIVE")
    await media_is(callee, at_callee, "ACTIVE")
    before = (await callee.aio.stats(at_callee))["rx_packets"]
    await asyncio.sleep(0.8)
    assert (await callee.aio.stats(at_callee))["rx_packets"] > before + 15
    assert not caller.sip_messages("rx", status=488)

    await callee.aio.hangup(at_callee)
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    await board.store.flush()
    (record,) = await board.store.list_cdrs(line="5553001")
    assert record.disposition == "connected by operator"


async def test_the_operator_holds_the_caller_and_a_reinvite_without_offer_is_carried(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    caller, call, operator, op_call, _, entry = await with_operator(board, phone_agent_factory)

    await operator.aio.hold(op_call)
    await caller.aio.wait_event(
        "sip_msg",
        direction="rx",
        method="INVITE",
        predicate=lambda m: "a=sendonly" in m["msg"] and "tag=" in _to(m),
    )
    await media_is(operator, op_call, "LOCAL_HOLD")
    await media_is(caller, call, "REMOTE_HOLD")

    await operator.aio.unhold(op_call)
    await media_is(operator, op_call, "ACTIVE")
    await media_is(caller, call, "ACTIVE")

    # a re-INVITE with no offer from the caller: the operator's offer comes back in our 200,
    # the caller's answer in its ACK, and goes on in our ACK to the operator
    await caller.aio.unhold(call, no_sdp=True)
    await operator.aio.wait_event(
        "sip_msg",
        direction="rx",
        method="INVITE",
        predicate=lambda m: "tag=" in _to(m) and "v=0" not in m["msg"],
    )
    await operator.aio.wait_event(
        "sip_msg", direction="rx", method="ACK", predicate=lambda m: "v=0" in m["msg"]
    )
    await media_is(operator, op_call, "ACTIVE")
    await media_is(caller, call, "ACTIVE")
    before = (await caller.aio.stats(call))["rx_packets"]
    await asyncio.sleep(0.8)
    assert (await caller.aio.stats(call))["rx_packets"] > before + 15
    assert entry.state == "with operator"

    assert board.switchboard is not None
    await hang_up(board, entry, "operator-1")
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)


async def test_an_update_is_carried_too(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    caller, call, operator, _, _, entry = await with_operator(board, phone_agent_factory)
    await caller.aio.unhold(call, update=True)
    update = await operator.aio.wait_event("sip_msg", direction="rx", method="UPDATE", timeout=5)
    assert "v=0" in update["msg"]
    answered = await caller.aio.wait_event(
        "sip_msg", direction="rx", status=200, cseq_method="UPDATE", timeout=5
    )
    assert "v=0" in answered["msg"]
    assert board.switchboard is not None
    await hang_up(board, entry, "operator-1")
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)


async def test_a_hold_while_the_operator_connects_gets_491(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    caller, call, operator, _, callee, entry = await with_operator(board, phone_agent_factory)
    await callee.aio.set_auto_answer("callee", "answer", delay=2.0)
    assert board.switchboard is not None
    await connect(board, entry, "5551003")
    await callee.aio.wait_event("incoming_call", timeout=5)
    await wait_until(lambda: entry.state == "connecting")
    await caller.aio.hold(call)
    refused = await caller.aio.wait_event(
        "sip_msg", direction="rx", status=491, cseq_method="INVITE", timeout=5
    )
    assert refused["status"] == 491
    assert not operator.sip_messages("rx", method="INVITE")[1:]  # nothing went on to it
    await wait_until(lambda: entry.state == "connected", timeout=8)
    await caller.aio.hangup(call)


async def media_is(agent: Any, call: str, status: str) -> None:
    """Wait until the latest media state pjsua reported for `call` is `status`."""

    def now() -> bool:
        reported = agent.events("call_media", call=call)
        return bool(reported) and reported[-1]["status"] == status

    await wait_until(now)


def _sdp_media(message: str) -> list[str]:
    """The m= and a= lines of a message's SDP (what the phones negotiate)."""
    body = message.replace("\r\n", "\n").split("\n\n", 1)[-1]
    return [line for line in body.split("\n") if line.startswith(("m=", "a="))]
