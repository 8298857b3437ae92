"""Calls between desk phones (pjsua2) through the stateful proxy, with media phone to phone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent

pytestmark = pytest.mark.integration


async def registered(
    factory: Any, switch: Softswitch, name: str, line: str, password: str, **options: Any
) -> PhoneAgent:
    agent: PhoneAgent = await asyncio.to_thread(factory, name)
    await agent.aio.add_account(
        name,
        user=line,
        registrar=f"sip:127.0.0.1:{switch.sip_port}",
        password=password,
        **options,
    )
    await agent.aio.wait_event("reg_state", account=name, code=200)
    return agent


@pytest.fixture
async def alice_and_bob(switch: Softswitch, phone_agent_factory: Any) -> tuple[PhoneAgent, PhoneAgent]:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    return alice, bob


def dial(switch: Softswitch, number: str) -> str:
    return f"sip:{number}@127.0.0.1:{switch.sip_port}"


async def test_a_calls_b_they_talk_and_a_hangs_up(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    await bob.aio.set_auto_answer("bob", "answer", delay=0.3)
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    incoming = await bob.aio.wait_event("incoming_call", timeout=5)
    assert "Record-Route:" in incoming["msg"]
    await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="CONFIRMED")
    await asyncio.sleep(1.2)
    a_stats = await alice.aio.stats(call)
    b_stats = await bob.aio.stats(incoming["call"])
    assert a_stats["rx_packets"] > 20 and b_stats["rx_packets"] > 20
    await alice.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    await alice.aio.wait_call_state(call, "DISCONNECTED")
