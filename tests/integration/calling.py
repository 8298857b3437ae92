"""Helpers for call tests: registered phones, dial strings, free ports, sipp runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from softswitch.queue import add_operator
from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent

from .conftest import REALM

SIPP_SCENARIOS = Path(__file__).parent.parent / "sipp"


async def registered(
    factory: Any, switch: Softswitch, name: str, line: str, password: str, **options: Any
) -> PhoneAgent:
    """A phone agent with one account for `line`, registered with `switch`."""
    agent: PhoneAgent = await asyncio.to_thread(factory, name)
    await add_registered_account(agent, switch, name, line, password, **options)
    return agent


async def add_registered_account(
    agent: PhoneAgent, switch: Softswitch, name: str, line: str, password: str, **options: Any
) -> None:
    suffix = ";transport=tcp" if options.get("transport") == "tcp" else ""
    await agent.aio.add_account(
        name,
        user=line,
        registrar=f"sip:{switch.listening[0].host}:{switch.sip_port}{suffix}",
        password=password,
        **options,
    )
    await agent.aio.wait_event("reg_state", account=name, code=200)


def dial(switch: Softswitch, number: str, transport: str = "udp") -> str:
    suffix = ";transport=tcp" if transport == "tcp" else ""
    return f"sip:{number}@{switch.listening[0].host}:{switch.sip_port}{suffix}"


async def serve_process(
    database_url: str, tmp_path: Path, port: int, node: str, *flags: str
) -> tuple[asyncio.subprocess.Process, Path]:
    """`softswitch serve` on 127.0.0.1:`port` in a process of its own (with `flags` added),
    its output in `tmp_path`/serve.out; returns at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTSWITCH_")}
    env.update(SOFTSWITCH_NODE=node, SOFTSWITCH_REALM=REALM, SOFTSWITCH_MIN_EXPIRES="2")
    out = tmp_path / "serve.out"
    with out.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "softswitch", "serve", *flags,
            "--sip-host", "127.0.0.1", "--sip-port", str(port),
            "--http-host", "127.0.0.1", "--http-port", "0",
            "--database-url", database_url, "--data-dir", str(tmp_path / "data"),
            stdout=sink, stderr=asyncio.subprocess.STDOUT, env=env,
        )  # fmt: skip
    return process, out


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody listens on (free when this returns; nothing is bound to it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int) -> int:
    """A port P with P to P + count - 1 free for UDP and TCP on 127.0.0.1 (when this returns)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for port in range(first, first + count):
                    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                        sock = stack.enter_context(socket.socket(socket.AF_INET, kind))
                        sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise AssertionError("no run of free ports")


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@dataclass
class WithOperator:
    """A queued call taken by an operator: both phones, the caller's and the operator's call
    ids, the operator's incoming-call event, and the switchboard's entry."""

    caller: PhoneAgent
    call: str
    operator: PhoneAgent
    at_operator: dict[str, Any]
    entry: Any

    @property
    def operator_call(self) -> str:
        return str(self.at_operator["call"])


async def queued_with_operator(
    switch: Softswitch, phones: Any, number: str = "5553001"
) -> WithOperator:
    """Caller 5551001 dials `number` (a manual line: queued), and the operator on 5551002
    (login operator-1) takes the call and answers. Both lines must be provisioned."""
    caller = await registered(phones, switch, "caller", "5551001", "one-secret")
    operator = await registered(phones, switch, "operator", "5551002", "two-secret")
    await operator.aio.set_auto_answer("operator", "answer")
    call = await caller.aio.call("caller", dial(switch, number))
    await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
    board = switch.switchboard
    assert board is not None
    await wait_until(lambda: len(board.waiting()) == 1)
    entry = board.waiting()[0]
    await take(switch, entry, "operator-1", "5551002")
    at_operator = await operator.aio.wait_event("incoming_call", timeout=5)
    await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    await operator.aio.wait_event("call_state", call=at_operator["call"], state="CONFIRMED")
    await wait_until(lambda: entry.state == "with operator")
    return WithOperator(caller, call, operator, at_operator, entry)


async def take(switch: Softswitch, entry: Any, login: str, line: str) -> None:
    """Operator `login` on `line` takes the switchboard's `entry` as the console does: through
    the queue service, which rings the phone (or on the SIP side, when there is no service)."""
    board, service = switch.switchboard, switch.queue_service
    assert board is not None
    if service is None:
        board.take(entry.id, login, line)
        return
    await wait_until(lambda: service.find(entry.call_id) is not None)
    queued = service.find(entry.call_id)
    assert queued is not None
    if await switch.store.get_operator(login) is None:
        await add_operator(switch.store, login, line, "a-long-operator-password", [queued.queue])
    await service.set_position(login, "available")
    await service.take(queued.id, login)


async def connect(switch: Softswitch, entry: Any, number: str, login: str = "operator-1") -> None:
    """The operator connects the caller of `entry` to `number` as the console does: the queue
    service hears of it first, then the switchboard calls."""
    queued = _queued(switch, entry)
    if switch.queue_service is not None and queued is not None:
        await switch.queue_service.mark_connecting(queued.id, number)
    assert switch.switchboard is not None
    switch.switchboard.connect(entry.id, login, number)


async def send_back(switch: Softswitch, entry: Any, login: str) -> None:
    """The operator puts the caller back in the queue, as the console does."""
    queued = _queued(switch, entry)
    if switch.queue_service is not None and queued is not None:
        await switch.queue_service.mark_returned(queued.id, note=f"sent back by {login}")
    assert switch.switchboard is not None
    switch.switchboard.send_back(entry.id, login)


async def hang_up(switch: Softswitch, entry: Any, login: str) -> None:
    """The operator ends the call from the console."""
    queued = _queued(switch, entry)
    if switch.queue_service is not None and queued is not None:
        await switch.queue_service.mark_completed(queued.id)
    assert switch.switchboard is not None
    switch.switchboard.hang_up(entry.id, login)


def _queued(switch: Softswitch, entry: Any) -> Any:
    """The queue service's record of the switchboard's `entry` (None without a service)."""
    if switch.queue_service is None:
        return None
    queued = switch.queue_service.find(entry.call_id)
    assert queued is not None, f"the queue has no live record of {entry.call_id}"
    return queued


def invites_received(agent: PhoneAgent) -> list[dict[str, Any]]:
    return agent.sip_messages(direction="rx", method="INVITE")


def header(message: dict[str, Any], name: str) -> list[str]:
    """The values of header `name` in a `sip_msg` event."""
    return [value for key, value in message["headers"] if key.lower() == name.lower()]


class RecordingObserver:
    """A `CallObserver` that remembers what the proxy told it, per Call-ID."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def events(self, call_id: str) -> list[str]:
        return [what for cid, what in self.seen if cid == call_id]

    def call_started(
        self, call_id: str, caller: str, dialed: str, number: str, route: str, now: float
    ) -> None:
        self.seen.append((call_id, "started"))

    def call_answered(self, call_id: str, now: float) -> None:
        self.seen.append((call_id, "answered"))

    def call_failed(self, call_id: str, status: int, reason: str, now: float) -> None:
        self.seen.append((call_id, f"failed {status}"))

    def call_ended(self, call_id: str, by: str, now: float) -> None:
        self.seen.append((call_id, f"ended by {by}"))


@dataclass
class SippRun:
    """A sipp process started by `start_sipp`; `finish` waits for it with a bound."""

    process: asyncio.subprocess.Process
    workdir: Path
    name: str

    async def finish(self, timeout: float = 15.0) -> tuple[int, str]:
        """The exit status and what sipp said (stderr, error log, message trace)."""
        try:
            _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=timeout)
        except TimeoutError:
            self.process.kill()
            _, stderr = await self.process.communicate()
        return self.process.returncode or 0, self.report(stderr.decode(errors="replace"))

    def report(self, stderr: str = "") -> str:
        parts = [f"sipp {self.name} stderr:\n{stderr[-2000:]}"]
        for path in sorted(self.workdir.glob("*")):
            if path.suffix in (".log", ".csv") or path.name.endswith("messages.log"):
                parts.append(f"{path.name}:\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


async def start_sipp(
    sipp: str, workdir: Path, name: str, scenario: str, args: Sequence[str]
) -> SippRun:
    """Run sipp with scenario `scenario` (a file in tests/sipp/), tracing errors and messages
    into `workdir`. The caller bounds the run with `-timeout` and `SippRun.finish`."""
    workdir.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        sipp,
        *args,
        "-sf",
        str(SIPP_SCENARIOS / scenario),
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(workdir / "errors.log"),
        "-trace_msg",
        "-message_file",
        str(workdir / "messages.log"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=workdir,
    )
    return SippRun(process, workdir, name)
