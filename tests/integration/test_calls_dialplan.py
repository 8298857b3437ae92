"""A dialplan applied while a call is up: the call stays up, the next call follows the new plan,
and every attempt leaves a call record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import dial, registered, wait_until

pytestmark = pytest.mark.integration

FIRST = """
[[rule]]
name = "ashford"
pattern = "_5551XXX"
deliver = { exchange = "ASH" }
"""

SECOND = """
[[rule]]
name = "bob-moved"
exact = "5551002"
reject = { status = 410, reason = "Number changed" }

[[rule]]
name = "ashford"
pattern = "_5551XXX"
deliver = { exchange = "ASH" }
"""


async def test_apply_while_a_call_is_up_and_the_records_it_leaves(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    first_version = await switch.store.save_dialplan({"plan.toml": FIRST}, "first")
    await wait_until(lambda: switch.dialplan_version == first_version)
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    await bob.aio.set_auto_answer("bob", "answer")

    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    incoming = await bob.aio.wait_event("incoming_call")

    second_version = await switch.store.save_dialplan({"plan.toml": SECOND}, "bob moved")
    await wait_until(lambda: switch.dialplan_version == second_version)

    # the call that was up stays up: media keeps flowing, and its BYE still goes through
    before = (await bob.aio.stats(incoming["call"]))["rx_packets"]
    await asyncio.sleep(0.6)
    after = (await bob.aio.stats(incoming["call"]))["rx_packets"]
    assert after > before + 10
    await alice.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")

    # the next call follows the new plan
    second = await alice.aio.call("alice", dial(switch, "5551002"))
    ended = await alice.aio.wait_event("call_state", call=second, state="DISCONNECTED", timeout=5)
    assert ended["code"] == 410

    await switch.store.flush()
    records = await switch.store.list_cdrs(line="5551002")
    by_disposition = {r.disposition: r for r in records}
    answered = by_disposition["answered"]
    assert answered.caller == "5551001" and answered.number == "5551002"
    assert answered.rule == "ashford"
    assert answered.answered_at is not None and answered.ended_at is not None
    assert answered.duration_seconds is not None and answered.duration_seconds > 0.4
    assert answered.ended_by == "caller"
    rejected = by_disposition["rejected"]
    assert rejected.status == 410 and rejected.rule == "bob-moved"
