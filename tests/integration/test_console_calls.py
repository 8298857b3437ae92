"""The switchboard end to end: a caller dials a manual line and waits; the operator, signed in
to the console in a real browser, takes the call on their real SIP phone, talks, and connects
it to the line it was for. Real pjsua2 phones, real PostgreSQL, headless Chromium."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from softswitch.queue import add_operator
from softswitch.server import Softswitch

from .calling import dial, registered, wait_until
from .conftest import provision
from .test_console import api_from_page, expect, queue_row

pytestmark = pytest.mark.integration

OPERATOR_PASSWORD = "a-long-operator-password"


@pytest.fixture
async def board(switch: Softswitch) -> Softswitch:
    """Cedar Falls is a manual board (line 5553001 on jack J-7), an automated line 5551003,
    and operator ada at the phone on line 5551002, serving Cedar Falls."""
    await switch.store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await switch.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    await provision(switch.store, ("5551003", "three-secret"))
    await add_operator(switch.store, "ada", "5551002", OPERATOR_PASSWORD, ("CED",), "Ada")
    await switch.reload_network()
    return switch


async def test_take_on_the_console_rings_the_operators_phone_and_connect_hands_over(
    board: Softswitch, browser: Any, phone_agent_factory: Any
) -> None:
    caller = await registered(phone_agent_factory, board, "caller", "5551001", "one-secret")
    operator = await registered(phone_agent_factory, board, "operator", "5551002", "two-secret")
    callee = await registered(phone_agent_factory, board, "callee", "5551003", "three-secret")
    await operator.aio.set_auto_answer("operator", "answer", delay=0.2)
    await callee.aio.set_auto_answer("callee", "answer", delay=0.2)

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await page.goto(f"http://127.0.0.1:{board.http_port}/")
    await page.get_by_label("Login").fill("ada")
    await page.get_by_label("Password").fill(OPERATOR_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#link-state")).to_have_text("live")

    call = await caller.aio.call("caller", dial(board, "5553001"))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    started = time.monotonic()
    row = queue_row(page, "5553001")
    await expect(row).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 1.5
    cells = await row.locator("td").all_inner_texts()
    assert "J-7" in cells and "CED" in cells

    await page.keyboard.press("t")  # take
    rang = await operator.aio.wait_event("incoming_call", timeout=5)
    assert "J-7" in rang["msg"]
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    await expect(page.locator("#cur-jack")).to_have_text("J-7")
    await asyncio.sleep(0.8)
    assert (await operator.aio.stats(rang["call"]))["rx_packets"] > 15

    queued = board.queue_service.find(caller.events("call_state", call=call)[-1]["sip_call_id"])  # type: ignore[union-attr]
    assert queued is not None
    answer = await api_from_page(
        page, "POST", f"/api/calls/{queued.id}/connect", {"number": "5551003"}
    )
    assert answer["status"] == 200, answer
    at_callee = await callee.aio.wait_event("incoming_call", timeout=5)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="CONFIRMED")
    await operator.aio.wait_event("call_state", call=rang["call"], state="DISCONNECTED", timeout=5)
    await wait_until(
        lambda: (
            board.queue_service.get(queued.id) is None  # type: ignore[union-attr]
            or board.queue_service.get(queued.id).state.value == "connected"
        ),  # type: ignore[union-attr]
        timeout=5,
    )
    before = (await callee.aio.stats(at_callee["call"]))["rx_packets"]
    await asyncio.sleep(0.8)
    assert (await callee.aio.stats(at_callee["call"]))["rx_packets"] > before + 15

    await caller.aio.hangup(call)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="DISCONNECTED")
    await context.close()
