"""Two nodes on one database, as on two machines: a phone registered through one is called
through the other (the bindings reach every node by NOTIFY), except a phone on a TCP
connection, which only the node holding the connection can reach. Real pjsua2 phones, real
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import dial, registered
from .conftest import provision, switch_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]


@pytest.fixture
async def second(
    switch: Softswitch, fresh_database_url: str, tmp_path: Path
) -> AsyncIterator[Softswitch]:
    """Node b beside the `switch` fixture's node a, with line 5551003 (3-secret) as well."""
    await provision(switch.store, ("5551003", "3-secret"))
    node = await Softswitch.open(
        switch_settings(tmp_path / "b", node="node-b", http_port=None), fresh_database_url
    )
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


async def test_a_phone_registered_through_one_node_is_called_through_the_other(
    switch: Softswitch, second: Softswitch, phone_agent_factory: Any
) -> None:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(
        phone_agent_factory, second, "bob", "5551002", "two-secret", auto_answer={"mode": "answer"}
    )
    carol = await registered(
        phone_agent_factory, second, "carol", "5551003", "3-secret", transport="tcp"
    )
    await asyncio.sleep(1.0)  # the bindings reach node a by NOTIFY

    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "CONFIRMED", timeout=10)
    assert len(bob.sip_messages("rx", method="INVITE")) == 1
    await alice.aio.hangup(call)
    await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)

    # carol's connection is node b's: node a answers 480 at once, and never rings her
    call = await alice.aio.call("alice", dial(switch, "5551003"))
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] == 480, ended
    assert carol.sip_messages("rx", method="INVITE") == []
    assert switch.location.bindings("5551003")  # known, but not reachable from here
