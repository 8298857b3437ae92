"""Callers held in the operator queue outlive a crash of the node that holds them.

The first run is a real `softswitch serve` process killed with SIGKILL (no chance to answer
anyone); the second run is a node on the same port and database. Real pjsua2 phones, real
PostgreSQL. The refresh of `182 Queued` (RFC 3261 §13.3.1.1) is checked on one node with a
short interval.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from softswitch.queue import QueueCall, QueueService
from softswitch.recovery import BYE_REASON, LOST_REASON, LOST_STATUS
from softswitch.server import Softswitch
from softswitch.store import HeldInviteRow, HeldLeg, Store
from tests.agents.phones import PhoneAgent

from .calling import free_ports, free_udp_port, header, serve_process, wait_until
from .conftest import provision, switch_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]

NODE = "node-a"
TO_TAG = re.compile(r";\s*tag=([^;>\s]+)")
ARGON2_PLACEHOLDER = "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"  # nobody logs in here


class KilledNode:
    """`softswitch serve` in a process of its own, to be killed with SIGKILL. Every node
    started is closed after its test (`close_killed_nodes`), whatever became of the test."""

    started: list[KilledNode] = []

    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @classmethod
    async def start(
        cls, database_url: str, port: int, tmp_path: Path, node: str = NODE
    ) -> KilledNode:
        process, out = await serve_process(database_url, tmp_path, port, node)
        node = cls(process, port, out)
        cls.started.append(node)
        deadline = time.monotonic() + 60
        while "listening for SIP" not in out.read_text(errors="replace"):
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{out.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
        return node

    async def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), timeout=10)
        assert self.process.returncode == -signal.SIGKILL

    async def close(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture(autouse=True)
async def close_killed_nodes() -> AsyncIterator[None]:
    yield
    while KilledNode.started:
        await KilledNode.started.pop().close()


@pytest.fixture
async def board_store(fresh_database_url: str) -> AsyncIterator[Store]:
    """Caller 5551001, operator's phone 5551002; Cedar Falls (CED) a manual board, its line
    5553001 on jack J-7."""
    store = await Store.open(fresh_database_url)
    await store.migrate()
    await provision(store, ("5551001", "one-secret"), ("5551002", "two-secret"))
    await store.add_exchange("CED", "Cedar Falls", "5553", "manual")
    await store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-7")
    await store.add_operator("ada", "5551002", ARGON2_PLACEHOLDER, ["CED"])
    try:
        yield store
    finally:
        await store.close()


async def phone(factory: Any, name: str, line: str, password: str, port: int) -> PhoneAgent:
    agent: PhoneAgent = await asyncio.to_thread(factory, name)
    await agent.aio.add_account(
        name, user=line, registrar=f"sip:127.0.0.1:{port}", password=password
    )
    await agent.aio.wait_event("reg_state", account=name, code=200)
    return agent


def queued_tags(agent: PhoneAgent) -> list[str]:
    """The To tags of the `182 Queued` the phone received, in order."""
    tags = []
    for message in agent.sip_messages("rx", status=182):
        found = TO_TAG.search(header(message, "To")[0])
        tags.append(found.group(1) if found else "")
    return tags


async def queue_caller(
    store: Store,
    factory: Any,
    tmp_path: Path,
    fresh_database_url: str,
    name: str = NODE,
    port: int | None = None,
) -> tuple[KilledNode, PhoneAgent, str]:
    """A node `name` in its own process (on `port`, else a free one), and a caller waiting in
    its queue for 5553001."""
    port = port or free_udp_port()
    node = await KilledNode.start(fresh_database_url, port, tmp_path, name)
    caller = await phone(factory, "caller", "5551001", "one-secret", node.port)
    call = await caller.aio.call("caller", f"sip:5553001@127.0.0.1:{node.port}")
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)

    async def written_down() -> bool:
        live = await store.list_queue_calls()
        held = await store.list_held_invites(name)
        return len(live) == 1 and len(held) == 1

    deadline = time.monotonic() + 5
    while not await written_down():
        assert time.monotonic() < deadline, "the queued call was not written down"
        await asyncio.sleep(0.05)
    return node, caller, call


async def restarted(tmp_path: Path, database_url: str, port: int, **settings: object) -> Softswitch:
    switch = await Softswitch.open(
        switch_settings(tmp_path, sip_port=port, **settings), database_url
    )
    await switch.start()
    return switch


async def test_a_waiting_caller_is_held_again_after_a_kill_and_an_operator_takes_it(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    operator = await phone(phone_agent_factory, "operator", "5551002", "two-secret", node.port)
    await operator.aio.set_auto_answer("operator", "answer", delay=0.2)
    (first_tag,) = queued_tags(caller)
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        # the caller hears from the exchange again, in the same early dialog
        await wait_until(lambda: len(queued_tags(caller)) == 2)
        assert queued_tags(caller) == [first_tag, first_tag]
        assert not caller.events("call_state", call=call, state="DISCONNECTED")
        assert second.queue_service is not None and second.switchboard is not None
        (entry,) = second.queue_service.waiting()
        assert (entry.state.value, entry.node, entry.jack_label) == ("waiting", NODE, "J-7")
        (listed,) = second.switchboard.waiting()
        assert (listed.caller, listed.dialed, listed.jack_label) == ("5551001", "5553001", "J-7")
        assert second.recovered.held_again == [entry.call_id]

        # the operator takes it as the console does, through the queue
        await second.queue_service.set_position("ada", "available")
        await second.queue_service.take(entry.id, "ada")
        at_operator = await operator.aio.wait_event("incoming_call", timeout=5)
        assert "5553001 (J-7)" in at_operator["msg"]
        await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
        ok = caller.sip_messages("rx", status=200, cseq_method="INVITE")
        assert ok and TO_TAG.search(header(ok[-1], "To")[0]).group(1) == first_tag  # type: ignore[union-attr]
        await asyncio.sleep(0.8)
        assert (await caller.aio.stats(call))["rx_packets"] > 15  # phone to phone

        await caller.aio.hangup(call)
        await operator.aio.wait_event(
            "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
        )
        await second.store.flush()
        (record,) = await second.store.list_cdrs(line="5553001")
        assert record.disposition == "answered" and record.ended_by == "caller"
        assert record.queue_wait_seconds is not None and record.queue_wait_seconds > 0
        await wait_until(lambda: second.switchboard.waiting() == [])  # type: ignore[union-attr]
        await wait_until(lambda: second.queue_service.calls() == [])  # type: ignore[union-attr]
        (row,) = await second.store.list_queue_calls(live=False)
        assert (row.state, row.operator) == ("completed", "ada")
        await second.held_keeper.close()
        assert await second.store.list_held_invites(NODE) == []
    finally:
        await second.stop()
        await node.close()


async def test_a_caller_held_again_after_a_kill_can_still_hang_up(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        await wait_until(lambda: len(queued_tags(caller)) == 2)
        await caller.aio.hangup(call)  # CANCEL, with the branch of the INVITE of the first run
        ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        assert ended["code"] == 487
        assert second.queue_service is not None
        await wait_until(lambda: second.queue_service.calls() == [])  # type: ignore[union-attr]
        (row,) = await second.store.list_queue_calls(live=False)
        assert row.state == "abandoned"
        await second.store.flush()
        (record,) = await second.store.list_cdrs(line="5553001")
        assert record.disposition == "abandoned in queue" and record.status == 487
    finally:
        await second.stop()
        await node.close()


@pytest.mark.parametrize(
    ("held_by", "take_over"),
    [(f"{NODE}-2", ""), ("exchange-b", "exchange-b, exchange-c")],
    ids=["its-worker", "named-in-take-over"],
)
async def test_a_node_answers_the_callers_a_node_it_stands_in_for_held(
    board_store: Store,
    fresh_database_url: str,
    tmp_path: Path,
    phone_agent_factory: Any,
    held_by: str,
    take_over: str,
) -> None:
    """Worker 2 of `serve --workers N` (node `node-a-2`), or a node the `take_over` setting
    names, holds a caller and dies; node-a starts. It takes the caller over, holds it again,
    and the caller can hang up."""
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url, name=held_by
    )
    (first_tag,) = queued_tags(caller)
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port, take_over=take_over)
    try:
        assert second.taken_over == {held_by: 1}
        await wait_until(lambda: len(queued_tags(caller)) == 2)
        assert queued_tags(caller) == [first_tag, first_tag]
        assert second.queue_service is not None
        (entry,) = second.queue_service.waiting()
        assert (entry.state.value, entry.node) == ("waiting", NODE)
        assert second.recovered.held_again == [entry.call_id]
        assert await second.store.list_held_invites(held_by) == []
        assert [held.held.call_id for held in await second.store.list_held_invites(NODE)] == [
            entry.call_id
        ]

        await caller.aio.hangup(call)
        ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        assert ended["code"] == 487
        await wait_until(lambda: second.queue_service.calls() == [])  # type: ignore[union-attr]
        (row,) = await second.store.list_queue_calls(live=False)
        assert (row.state, row.node) == ("abandoned", NODE)
    finally:
        await second.stop()
        await node.close()


async def test_worker_one_answers_the_callers_the_node_run_alone_held(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The node ran alone, held a caller and died; it is started again with `--workers 2`.
    Worker 1 (node-a-1) takes the caller over and holds it again."""
    port = free_ports(3)  # the SIP port, and the two workers' own
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url, port=port
    )
    (first_tag,) = queued_tags(caller)
    await node.kill()
    (tmp_path / "workers").mkdir()
    process, out = await serve_process(
        fresh_database_url, tmp_path / "workers", port, NODE, "--workers", "2"
    )
    try:
        await wait_until(lambda: len(queued_tags(caller)) == 2, timeout=60)
        assert queued_tags(caller) == [first_tag, first_tag]
        assert not caller.events("call_state", call=call, state="DISCONNECTED")
        (entry,) = await board_store.list_queue_calls()
        assert (entry.state, entry.node) == ("waiting", f"{NODE}-1")
        assert await board_store.list_held_invites(NODE) == []
        assert len(await board_store.list_held_invites(f"{NODE}-1")) == 1
        assert "taking over the queued calls of node node-a" in out.read_text()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            await asyncio.wait_for(process.wait(), timeout=30)
        await node.close()


async def test_a_running_node_keeps_its_queued_callers(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """A node named like one of this node's workers, but running: nothing is taken from it."""
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url, name=f"{NODE}-2"
    )
    second = await restarted(tmp_path, fresh_database_url, free_udp_port())
    try:
        assert second.taken_over == {}
        assert second.recovered.held_again == [] and second.recovered.unanswerable == []
        (entry,) = await second.store.list_queue_calls()
        assert (entry.state, entry.node) == ("waiting", f"{NODE}-2")
        assert len(await second.store.list_held_invites(f"{NODE}-2")) == 1
        assert len(queued_tags(caller)) == 1
        assert not caller.events("call_state", call=call, state="DISCONNECTED")
    finally:
        await second.stop()
        await node.close()


async def test_a_caller_whose_entry_ended_meanwhile_is_told_the_call_was_lost(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    node, caller, call = await queue_caller(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    await node.kill()
    # while the node is down, another node's supervisor clears the entry
    elsewhere = QueueService(board_store, "node-b")
    await elsewhere.start(tick_interval=None)
    try:
        (entry,) = elsewhere.waiting()
        await elsewhere.mark_failed(entry.id, note="cleared while its node was down")
    finally:
        await elsewhere.close()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        assert ended["code"] == LOST_STATUS
        (final,) = caller.sip_messages("rx", status=LOST_STATUS)
        assert f"SIP/2.0 {LOST_STATUS} {LOST_REASON}" in final["msg"]
        assert caller.sip_messages("tx", method="ACK")  # the server transaction's answer
        assert second.recovered.answered == [entry.call_id]
        assert second.queue_service is not None and second.queue_service.calls() == []
        assert await second.store.list_held_invites(NODE) == []
        await second.store.flush()
        (record,) = await second.store.list_cdrs(line="5553001")
        assert (record.disposition, record.status) == ("failed", LOST_STATUS)
    finally:
        await second.stop()
        await node.close()


async def with_operator(
    store: Store, factory: Any, tmp_path: Path, fresh_database_url: str
) -> tuple[KilledNode, PhoneAgent, str, PhoneAgent, dict[str, Any], QueueCall]:
    """A queued caller taken by operator ada on phone 5551002, talking. Returns the node, the
    caller and its call, the operator's phone, its incoming-call event, and the entry."""
    node, caller, call = await queue_caller(store, factory, tmp_path, fresh_database_url)
    operator = await phone(factory, "operator", "5551002", "two-secret", node.port)
    await operator.aio.set_auto_answer("operator", "answer")
    # the operator takes the call through the database, as a console on any node does
    console = QueueService(store, "node-b")
    await console.start(tick_interval=None)
    try:
        await console.set_position("ada", "available")
        (entry,) = console.waiting()
        await console.take(entry.id, "ada")
    finally:
        await console.close()
    at_operator = await operator.aio.wait_event("incoming_call", timeout=5)
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    return node, caller, call, operator, at_operator, entry


async def legs_written_down(store: Store, roles: list[str]) -> None:
    """Wait until the held call is written down as answered, with legs of these roles up."""

    async def written() -> bool:
        (held,) = await store.list_held_invites(NODE)
        return held.held.answered_at is not None and [leg.role for leg in held.held.legs] == roles

    await eventually(written, f"the {roles} legs were not written down")


async def eventually(check: Callable[[], Awaitable[bool]], failure: str) -> None:
    """Wait up to 5 s for `check` to hold."""
    deadline = time.monotonic() + 5
    while not await check():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.05)


async def test_a_caller_talking_to_the_operator_gets_a_bye_after_a_kill_and_so_does_the_operator(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    node, caller, call, operator, at_operator, entry = await with_operator(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    await legs_written_down(board_store, ["operator"])
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        ended = await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        assert ended["state"] == "DISCONNECTED"
        (bye,) = caller.sip_messages("rx", method="BYE")
        assert header(bye, "Reason") == [BYE_REASON]
        # the operator's phone is not left in a call the exchange has lost
        await operator.aio.wait_event(
            "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
        )
        (operator_bye,) = operator.sip_messages("rx", method="BYE")
        assert header(operator_bye, "Reason") == [BYE_REASON]
        assert second.recovered.ended == [entry.call_id]
        (row,) = await second.store.list_queue_calls(live=False)
        assert row.state == "failed"
        await second.store.flush()
        (record,) = await second.store.list_cdrs(line="5553001")
        assert record.disposition == "answered" and record.ended_by == "switchboard"
        operator_position = second.queue_service.position("ada")  # type: ignore[union-attr]
        assert operator_position is not None and operator_position.state.value != "busy"
    finally:
        await second.stop()
        await node.close()


async def test_the_bye_after_a_kill_goes_to_the_operators_refreshed_contact(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The operator's phone changes its Contact with a re-INVITE while it talks to the
    caller (a target refresh, §12.2); the node dies. The next run's BYE goes to the new
    Contact, which the node wrote down when the re-INVITE passed."""
    node, caller, call, operator, at_operator, _ = await with_operator(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    await legs_written_down(board_store, ["operator"])
    await operator.aio.refresh_target(at_operator["call"], ";desk=moved")

    async def refreshed() -> bool:
        (held,) = await board_store.list_held_invites(NODE)
        return any("desk=moved" in leg.remote_target for leg in held.held.legs)

    await eventually(refreshed, "the new Contact was not written down")
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        await operator.aio.wait_event(
            "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
        )
        (operator_bye,) = operator.sip_messages("rx", method="BYE")
        request_line = operator_bye["msg"].split("\r\n", 1)[0]
        assert "desk=moved" in request_line, request_line
    finally:
        await second.stop()
        await node.close()


async def test_a_call_connected_onward_ends_with_a_bye_to_both_phones_after_a_kill(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The operator connects the caller to line 5551003 with the phone's transfer key and
    leaves; the node dies while the two talk. The next run ends both dialogs."""
    await provision(board_store, ("5551003", "three-secret"))
    node, caller, call, operator, at_operator, _ = await with_operator(
        board_store, phone_agent_factory, tmp_path, fresh_database_url
    )
    callee = await phone(phone_agent_factory, "callee", "5551003", "three-secret", node.port)
    await callee.aio.set_auto_answer("callee", "answer")
    await operator.aio.transfer(at_operator["call"], f"sip:5551003@127.0.0.1:{node.port}")
    at_callee = await callee.aio.wait_event("incoming_call", timeout=5)
    await callee.aio.wait_event("call_state", call=at_callee["call"], state="CONFIRMED")
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
    await legs_written_down(board_store, ["destination"])
    await node.kill()
    second = await restarted(tmp_path, fresh_database_url, node.port)
    try:
        await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        await callee.aio.wait_event(
            "call_state", call=at_callee["call"], state="DISCONNECTED", timeout=5
        )
        (bye,) = callee.sip_messages("rx", method="BYE")
        assert header(bye, "Reason") == [BYE_REASON]
        assert len(caller.sip_messages("rx", method="BYE")) == 1
    finally:
        await second.stop()
        await node.close()


async def test_waiting_callers_get_182_again_every_refresh_interval(
    board_store: Store, fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    switch = await Softswitch.open(switch_settings(tmp_path), fresh_database_url)
    await switch.start()
    try:
        assert switch.queue_legs is not None
        switch.queue_legs.refresh_interval = 0.6
        port = switch.sip_port
        first = await phone(phone_agent_factory, "first", "5551001", "one-secret", port)
        second = await phone(phone_agent_factory, "second", "5551002", "two-secret", port)
        first_call = await first.aio.call("first", f"sip:5553001@127.0.0.1:{port}")
        await first.aio.wait_event("call_state", call=first_call, code=182, timeout=5)
        await asyncio.sleep(0.3)  # the two refreshes fall due at different times
        second_call = await second.aio.call("second", f"sip:5553001@127.0.0.1:{port}")
        await second.aio.wait_event("call_state", call=second_call, code=182, timeout=5)
        started = time.monotonic()
        await wait_until(lambda: len(queued_tags(second)) >= 4, timeout=5)
        took = time.monotonic() - started
        assert 1.6 < took < 2.6  # three refreshes, one every 0.6 s
        assert len(queued_tags(first)) >= 4
        for caller in (first, second):
            assert len(set(queued_tags(caller))) == 1  # the same early dialog each time
        await first.aio.hangup(first_call)
        await first.aio.wait_call_state(first_call, "DISCONNECTED", timeout=5)
        settled = len(queued_tags(first))
        before = len(queued_tags(second))
        await asyncio.sleep(1.3)
        assert len(queued_tags(first)) == settled  # no 182 after the call ended
        assert len(queued_tags(second)) >= before + 2  # while the other still waits
        await second.aio.hangup(second_call)
        await second.aio.wait_call_state(second_call, "DISCONNECTED", timeout=5)
    finally:
        await switch.stop()


async def test_held_invites_are_kept_with_the_latest_entry_of_their_call(store: Store) -> None:
    service = QueueService(store, NODE)
    await service.start(tick_interval=None)
    try:
        first = await service.enqueue(queue="CED", call_id="c1@x", caller="5551001", dialed="1")
        moved = await service.mark_overflowed(first.id)  # no overflow queue: ends it
        again = await service.enqueue(queue="CED", call_id="c1@x", caller="5551001", dialed="1")
    finally:
        await service.close()
    row = HeldInviteRow(
        node=NODE,
        call_id="c1@x",
        invite=b"INVITE sip:1@h SIP/2.0\r\n\r\n",
        transport="udp",
        host="127.0.0.1",
        port=5062,
        local_port=5060,
        to_tag="abc",
    )
    await store.keep_held_invite(row)
    await store.keep_held_invite(row)  # held again after a restart: the same row
    await store.keep_held_invite(replace(row, call_id="c2@x"))
    await store.mark_held_invite_answered(NODE, "c2@x", 1_700_000_000.0)
    assert await store.list_held_invites("node-b") == []
    kept = {held.held.call_id: held for held in await store.list_held_invites(NODE)}
    assert set(kept) == {"c1@x", "c2@x"}
    assert kept["c1@x"].held.invite == row.invite and kept["c1@x"].held.answered_at is None
    assert kept["c1@x"].entry is not None and kept["c1@x"].entry.id == again.id != moved.call.id
    assert kept["c2@x"].entry is None and kept["c2@x"].held.answered_at == 1_700_000_000.0
    leg = HeldLeg(
        role="operator",
        transport="udp",
        call_id="op-1@h",
        local_tag="ours",
        remote_tag="theirs",
        local_uri="sip:5551001@h",
        remote_uri="sip:5551002@h",
        remote_target="sip:5551002@127.0.0.1:5066",
        route_set=("<sip:10.0.0.1;lr>",),
    )
    await store.keep_held_legs(NODE, "c2@x", [leg])
    (c2,) = [held for held in await store.list_held_invites(NODE) if held.held.call_id == "c2@x"]
    assert c2.held.legs == (leg,)
    await store.keep_held_legs(NODE, "c2@x", [])  # the operator left
    (c2,) = [held for held in await store.list_held_invites(NODE) if held.held.call_id == "c2@x"]
    assert c2.held.legs == ()
    await store.drop_held_invites(NODE, ["c1@x", "c2@x"])
    assert await store.list_held_invites(NODE) == []
