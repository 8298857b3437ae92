"""`softswitch serve --workers 2`: two worker processes share the SIP port, and each has a port
of its own that it puts in Via and Record-Route. A phone registered through one worker is
called through the other; a worker killed is started again; SIGINT stops them all. Real
`softswitch serve`, real pjsua2 phones, real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.store import Store
from tests.agents.phones import PhoneAgent

from .calling import free_ports, header, serve_process
from .conftest import provision

pytestmark = pytest.mark.integration

WORKER = re.compile(r"worker (\d) \(pid (\d+)\): listening for SIP on udp and tcp [\d.]+:(\d+)")


class Workers:
    """`softswitch serve --workers 2` in a process of its own."""

    def __init__(self, process: asyncio.subprocess.Process, port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    def pids(self) -> dict[int, int]:
        """The latest pid of each worker that said it listens on the shared port."""
        found: dict[int, int] = {}
        for index, pid, port in WORKER.findall(self.log.read_text(errors="replace")):
            if int(port) == self.port:
                found[int(index)] = int(pid)
        return found

    async def wait_for(self, predicate: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what}:\n{self.log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)


@pytest.fixture
async def workers(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Workers]:
    store = await Store.open(fresh_database_url)
    try:
        await store.migrate()
        await provision(
            store, ("5551001", "one-secret"), ("5551002", "two-secret"), ("5551003", "3-secret")
        )
    finally:
        await store.close()
    port = free_ports(3)
    process, log = await serve_process(
        fresh_database_url, tmp_path, port, "node-w", "--workers", "2"
    )
    node = Workers(process, port, log)
    try:
        await node.wait_for(lambda: len(node.pids()) == 2, "the two workers did not start")
        yield node
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        for pid in node.pids().values():  # a worker left behind by a failed test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def phone(
    factory: Any, name: str, line: str, password: str, port: int, transport: str = "udp"
) -> PhoneAgent:
    agent: PhoneAgent = await asyncio.to_thread(factory, name)
    suffix = ";transport=tcp" if transport == "tcp" else ""
    await agent.aio.add_account(
        name,
        user=line,
        registrar=f"sip:127.0.0.1:{port}{suffix}",
        password=password,
        transport=transport,
    )
    await agent.aio.wait_event("reg_state", account=name, code=200)
    await agent.aio.set_auto_answer(name, "answer")
    return agent


async def call_and_hang_up(
    caller: PhoneAgent, callee: PhoneAgent, port: int, number: str = "5551002"
) -> list[str]:
    """Caller dials `number` at 127.0.0.1:`port`; the callee answers; the caller hangs up.
    Returns the Record-Route of the INVITE the callee got."""
    seen = len(callee.events("incoming_call"))
    call = await caller.aio.call("alice", f"sip:{number}@127.0.0.1:{port}")
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=10)
    incoming = await callee.aio.wait_event("incoming_call", timeout=5)
    assert len(callee.events("incoming_call")) == seen + 1
    await caller.aio.hangup(call)
    await callee.aio.wait_event(
        "call_state", call=incoming["call"], state="DISCONNECTED", timeout=5
    )
    invite = callee.sip_messages("rx", method="INVITE")[-1]
    return header(invite, "Record-Route")


async def test_two_workers_share_the_port_call_across_and_one_killed_starts_again(
    workers: Workers, phone_agent_factory: Any
) -> None:
    port = workers.port
    # alice through worker 1's own port, bob through worker 2's: each worker learns the
    # other's binding from the database
    alice = await phone(phone_agent_factory, "alice", "5551001", "one-secret", port + 1)
    bob = await phone(phone_agent_factory, "bob", "5551002", "two-secret", port + 2)
    await asyncio.sleep(1.0)  # bob's binding reaches worker 1 by NOTIFY, in milliseconds

    routes = await call_and_hang_up(alice, bob, port + 1)
    assert routes == [f"<sip:127.0.0.1:{port + 1};transport=udp;lr>"]
    # through the shared port: whichever worker takes it stays on the path with its own port
    (route,) = await call_and_hang_up(alice, bob, port)
    assert route in {
        f"<sip:127.0.0.1:{port + 1};transport=udp;lr>",
        f"<sip:127.0.0.1:{port + 2};transport=udp;lr>",
    }

    killed = workers.pids()[2]
    os.kill(killed, signal.SIGKILL)
    await workers.wait_for(
        lambda: workers.pids().get(2) not in (None, killed), "worker 2 was not started again"
    )
    assert f"worker 2 (pid {killed}) ended with exit code -9" in workers.log.read_text()
    # the new worker 2 loaded bob's binding, which its predecessor wrote
    routes = await call_and_hang_up(alice, bob, port + 2)
    assert routes == [f"<sip:127.0.0.1:{port + 2};transport=udp;lr>"]

    # bob unregisters through worker 2: worker 1 forgets him too
    await bob.aio.unregister("bob")
    await bob.aio.wait_event("reg_state", account="bob", predicate=lambda e: not e["active"])
    await asyncio.sleep(1.0)
    call = await alice.aio.call("alice", f"sip:5551002@127.0.0.1:{port + 1}")
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=10)
    assert ended["code"] == 480, ended

    survivors = list(workers.pids().values())
    workers.process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(workers.process.wait(), timeout=30) == 0
    for pid in survivors:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert workers.log.read_text().count("stopping") == 3  # the workers and the parent


async def test_a_phone_on_a_connection_one_worker_holds_is_called_through_another(
    workers: Workers, phone_agent_factory: Any, fresh_database_url: str
) -> None:
    """Carol registers over TCP through worker 2, which alone holds her connection. Worker 2
    calls her on it; a call worker 1 routes goes to worker 2 first (the Route stored in her
    binding's Path), which relays it on her connection and leaves the record to worker 1."""
    port = workers.port
    alice = await phone(phone_agent_factory, "alice", "5551001", "one-secret", port + 1)
    carol = await phone(phone_agent_factory, "carol", "5551003", "3-secret", port + 2, "tcp")
    await asyncio.sleep(1.0)  # her binding reaches worker 1 by NOTIFY
    direct = [
        f"<sip:127.0.0.1:{port + 2};transport=tcp;lr>",
        f"<sip:127.0.0.1:{port + 2};transport=udp;lr>",
    ]
    assert await call_and_hang_up(alice, carol, port + 2, "5551003") == direct
    relayed = await call_and_hang_up(alice, carol, port + 1, "5551003")
    assert relayed == [*direct, f"<sip:127.0.0.1:{port + 1};transport=udp;lr>"]
    assert [m["transport"] for m in carol.sip_messages("rx", method="INVITE")] == ["tcp", "tcp"]
    assert "connect failed" not in workers.log.read_text()

    # one record per call, by the worker that routed it
    store = await Store.open(fresh_database_url)
    try:
        deadline = time.monotonic() + 10
        while len(await store.list_cdrs(line="5551003")) < 2:
            assert time.monotonic() < deadline, "the call records were not written"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # a record of the relay would have been written by now too
        records = await store.list_cdrs(line="5551003")
    finally:
        await store.close()
    assert sorted(r.node for r in records) == ["node-w-1", "node-w-2"]
    assert all(r.disposition == "answered" for r in records)


async def test_a_worker_that_cannot_start_is_a_one_line_error(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """Worker 1's own port is taken: it fails as it starts, is started again twice, and then
    the command gives up with one line saying so, exit code 1, and stops worker 2."""
    port = free_ports(3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", port + 1))
        process, log = await serve_process(
            fresh_database_url, tmp_path, port, "node-w", "--workers", "2"
        )
        try:
            code = await asyncio.wait_for(process.wait(), timeout=60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    output = log.read_text()
    assert code == 1, output
    assert "softswitch: error: worker 1 failed 3 times as it started\n" in output
    assert output.count(f"could not bind to local_addr ('127.0.0.1', {port + 1})") == 3
    assert "Traceback" not in output
    assert re.search(r"worker 2 \(pid \d+\): stopping", output), output
