"""Two nodes on one database, as on two machines: a phone registered through one is called
through the other (the bindings reach every node by NOTIFY), except a phone on a TCP
connection, which only the node holding the connection can reach; a node that was not
listening when a binding changed reads them all when it listens again. Real pjsua2 phones, real
PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from softswitch.server import Softswitch
from softswitch.store import Binding, listener

from .calling import dial, free_udp_port, registered, serve_process, wait_until
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


async def test_lines_whose_bindings_one_statement_wrote_all_reach_the_other_node(
    switch: Softswitch, second: Softswitch
) -> None:
    """Node b's group commit writes several lines' bindings in one statement; node a hears
    them in one notification that names every line, and reads each."""
    lines = ("5551001", "5551002", "5551003")
    now = time.time()
    before = second.store.writer_stats
    await asyncio.gather(
        *(second.store.write_bindings(line, [remote_binding(line, now)], []) for line in lines)
    )
    assert second.store.writer_stats.transactions - before.transactions == 1
    await wait_until(lambda: all(switch.location.bindings(line, now) for line in lines), 10)
    assert [switch.location.bindings(line, now)[0].source_host for line in lines] == [
        "192.0.2.7"
    ] * 3


def remote_binding(line: str, now: float) -> Binding:
    return Binding(
        line_number=line,
        contact=f"sip:{line}@192.0.2.7:5070",
        expires_at=now + 600,
        call_id=f"reg-{line}",
        cseq=1,
        source_transport="udp",
        source_host="192.0.2.7",
        source_port=5070,
        local_port=5060,
        node="node-b",
    )


# The advisory lock a running node holds (softswitch/store/queue_calls.py), as pg_locks shows it.
PRESENCE_HOLDERS = """
SELECT pid FROM pg_locks
WHERE locktype = 'advisory' AND granted
  AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('softswitch node ' || $1, 0)
"""


async def test_bindings_written_while_a_node_was_not_listening_reach_it_when_it_listens_again(
    switch: Softswitch,
    second: Softswitch,
    phone_agent_factory: Any,
    fresh_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Node a's connection for the bindings channel is cut; bob registers through node b
    while it is down, so the NOTIFY is lost. Once node a listens again it reads every binding,
    calls reach bob through it, and it holds its presence lock again."""
    monkeypatch.setattr(listener, "_RETRY_DELAYS", (2.0,))  # a window to register in
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        (holder,) = await conn.fetch(PRESENCE_HOLDERS, "node-a")
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", holder["pid"])
        bob = await registered(
            phone_agent_factory,
            second,
            "bob",
            "5551002",
            "two-secret",
            auto_answer={"mode": "answer"},
        )
        await second.store.flush()
        assert await conn.fetchval("SELECT count(*) FROM bindings WHERE line_number = '5551002'")
        await asyncio.sleep(0.3)
        assert switch.location.bindings("5551002") == []  # the NOTIFY went unheard
        await wait_until(lambda: bool(switch.location.bindings("5551002")), timeout=10)
        assert len(await conn.fetch(PRESENCE_HOLDERS, "node-a")) == 1
    finally:
        await conn.close()

    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "CONFIRMED", timeout=10)
    assert len(bob.sip_messages("rx", method="INVITE")) == 1
    await alice.aio.hangup(call)
    await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)


async def test_a_second_process_with_a_running_nodes_name_does_not_start(
    switch: Softswitch, fresh_database_url: str, tmp_path: Path
) -> None:
    """Two processes as one node would ignore each other's bindings (each takes the other's
    for its own) and answer each other's held callers: the second is refused, in one line."""
    process, out = await serve_process(fresh_database_url, tmp_path, free_udp_port(), "node-a")
    assert await asyncio.wait_for(process.wait(), timeout=60) == 1
    lines = out.read_text().strip().splitlines()
    assert lines[-1] == (
        "softswitch: error: node node-a is already running (another process holds its presence "
        "lock); give this one another name (SOFTSWITCH_NODE)"
    )
    assert not any("Traceback" in line for line in lines)

    # once the running one stops, the name is free again
    await switch.stop()
    process, out = await serve_process(fresh_database_url, tmp_path, free_udp_port(), "node-a")
    try:
        await wait_until(lambda: "listening for SIP" in out.read_text(), timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
