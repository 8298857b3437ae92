"""The operator queue's limits and priorities seen from real SIP phones: a caller who waits past
the queue's maximum wait gets its final status (with Retry-After) or moves to the overflow
queue; an emergency call goes ahead of the callers already waiting, and every console is
alerted. Real pjsua2 phones, real PostgreSQL, the console's WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from softswitch.queue import Distribution, PositionState, QueueConfig, add_operator
from softswitch.server import Softswitch

from .calling import dial, registered, wait_until

pytestmark = pytest.mark.integration

OPERATOR_PASSWORD = "a-long-operator-password"

PLAN = """
[numbering]
service_numbers = ["911"]

[[rule]]
# emergencies go to the Cedar Falls board, ahead of every other waiting call
name = "emergency"
exact = "911"
queue = { exchange = "CED", priority = 9 }

[[rule]]
name = "cedar-falls"
pattern = "_5553XXX"
deliver = { exchange = "CED" }

[[rule]]
name = "ashford"
pattern = "_5551XXX"
deliver = { exchange = "ASH" }
"""


@pytest.fixture
async def board(switch: Softswitch) -> Softswitch:
    """Cedar Falls (CED) is a manual board with line 5553001; the dialplan above."""
    await switch.store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await switch.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    version = await switch.store.save_dialplan({"plan.toml": PLAN}, "board")
    await wait_until(lambda: switch.dialplan_version == version)
    await switch.reload_network()
    return switch


async def queued_call(caller: Any, board: Softswitch, number: str) -> tuple[str, str]:
    """Dial `number` and wait for `182 Queued`; (agent call id, SIP Call-ID)."""
    call = await caller.aio.call("caller", dial(board, number))
    queued = await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    return call, queued["sip_call_id"]


async def test_a_caller_past_the_maximum_wait_gets_the_overflow_status(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    assert board.queue_service is not None
    await board.queue_service.configure(
        QueueConfig(queue="CED", max_wait=1.0, overflow_status=486, retry_after=120)
    )
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    call, sip_call_id = await queued_call(caller, board, "5553001")

    ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=6)
    assert ended["code"] == 486
    (final,) = caller.sip_messages("rx", status=486)
    assert ("Retry-After", "120") in [tuple(h) for h in final["headers"]]
    assert board.switchboard is not None and board.switchboard.waiting() == []

    rows = await board.store.list_queue_calls(live=False)
    (entry,) = [row for row in rows if row.call_id == sip_call_id]
    assert entry.state == "overflowed" and entry.ended_at is not None

    await board.store.flush()
    await wait_until(lambda: board.recorder.open_calls == 0)
    await board.store.flush()
    (record,) = await board.store.list_cdrs(line="5553001")
    assert (record.status, record.disposition) == (486, "busy")
    assert record.queue_wait_seconds is not None and record.queue_wait_seconds >= 1.0


async def test_a_caller_past_the_maximum_wait_moves_to_the_overflow_queue(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    assert board.queue_service is not None
    await board.queue_service.configure(
        QueueConfig(queue="CED", max_wait=1.0, overflow_queue="ASH")
    )
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    call, sip_call_id = await queued_call(caller, board, "5553001")

    await wait_until(
        lambda: any(
            c.call_id == sip_call_id and c.queue == "ASH"
            for c in board.queue_service.waiting()  # type: ignore[union-attr]
        ),
        timeout=6,
    )
    rows = await board.store.list_queue_calls(live=False)
    assert [(r.queue, r.state) for r in rows if r.call_id == sip_call_id] == [
        ("CED", "overflowed"),
        ("ASH", "waiting"),
    ]
    # the caller still waits, with no final answer
    await asyncio.sleep(0.5)
    assert not caller.events("call_state", call=call, state="DISCONNECTED")
    await caller.aio.hangup(call)
    ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] == 487
    await board.store.flush()
    await wait_until(lambda: board.recorder.open_calls == 0)
    await board.store.flush()
    (record,) = await board.store.list_cdrs(line="5553001")
    assert record.disposition == "abandoned in queue"


async def test_an_emergency_goes_ahead_of_three_waiting_callers_and_alerts_the_console(
    board: Softswitch, phone_agent_factory: Any, no_errors_logged: None
) -> None:
    assert board.queue_service is not None and board.switchboard is not None
    await add_operator(board.store, "ada", "5551002", OPERATOR_PASSWORD, ("CED",), "Ada")
    await wait_until(lambda: board.queue_service.position("ada") is not None)  # type: ignore[union-attr]
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    waiting = [(await queued_call(caller, board, "5553001"))[1] for _ in range(3)]
    await wait_until(lambda: len(board.queue_service.waiting("CED")) == 3)  # type: ignore[union-attr]

    jar = aiohttp.CookieJar(unsafe=True)
    url = f"http://127.0.0.1:{board.http_port}"
    async with aiohttp.ClientSession(url, cookie_jar=jar) as http:
        body = {"login": "ada", "password": OPERATOR_PASSWORD}
        async with http.post("/api/login", json=body, headers={"X-Console": "1"}) as response:
            assert response.status == 200, await response.text()
        async with http.ws_connect("/ws") as ws:
            first = json.loads((await ws.receive(timeout=5)).data)
            assert first["type"] == "snapshot"

            call, emergency = await queued_call(caller, board, "911")
            alert = await next_message(ws, lambda m: m["type"] == "alert")
            assert alert["call"]["emergency"] is True and alert["call"]["dialed"] == "911"

        async with http.get("/api/calls") as response:
            listed = (await response.json())["calls"]
    in_order = [c.call_id for c in board.queue_service.waiting("CED")]
    assert in_order == [emergency, *waiting]
    assert [c["priority"] for c in listed] == [9, 0, 0, 0] and listed[0]["emergency"]
    assert [w.call_id for w in board.switchboard.waiting()] == [emergency, *waiting]

    # offered first: the longest idle operator who becomes available is offered the emergency
    await board.queue_service.configure(
        QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    )
    await board.queue_service.set_position("ada", PositionState.AVAILABLE)
    await wait_until(lambda: offered(board) != [])
    assert offered(board) == [(emergency, ("ada",))]
    await caller.aio.hangup(call)
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)


def offered(board: Softswitch) -> list[tuple[str, tuple[str, ...]]]:
    assert board.queue_service is not None
    return [
        (c.call_id, tuple(c.offered_to))
        for c in board.queue_service.calls("CED")
        if c.state.value == "offered"
    ]


async def next_message(ws: aiohttp.ClientWebSocketResponse, wanted: Any) -> dict[str, Any]:
    while True:
        message = json.loads((await ws.receive(timeout=5)).data)
        if wanted(message):
            return message
