"""A call that is up survives a restart of the softswitch: its in-dialog requests follow the
Route set to the new process, which routes them on with the bindings it reloaded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import dial, registered
from .conftest import provision, switch_settings

pytestmark = pytest.mark.integration


async def test_bye_after_a_restart_reaches_the_other_phone(
    fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    first = await Softswitch.open(switch_settings(tmp_path), fresh_database_url)
    await provision(first.store, ("5551001", "one-secret"), ("5551002", "two-secret"))
    await first.start()
    port = first.sip_port
    try:
        alice = await registered(phone_agent_factory, first, "alice", "5551001", "one-secret")
        bob = await registered(phone_agent_factory, first, "bob", "5551002", "two-secret")
        await bob.aio.set_auto_answer("bob", "answer")
        call = await alice.aio.call("alice", dial(first, "5551002"))
        await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
        incoming = await bob.aio.wait_event("incoming_call")
    finally:
        await first.stop()

    second = await Softswitch.open(switch_settings(tmp_path, sip_port=port), fresh_database_url)
    await second.start()
    try:
        await asyncio.sleep(0.5)
        stats = await bob.aio.stats(incoming["call"])
        assert stats["rx_packets"] > 10  # media never went through the softswitch
        await bob.aio.hangup(incoming["call"])  # the callee hangs up this time
        await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        byes = [m for m in alice.sip_messages("rx", method="BYE")]
        assert byes, "the BYE reached the caller through the new process"
    finally:
        await second.stop()
