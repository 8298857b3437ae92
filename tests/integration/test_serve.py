"""The README's first command: `softswitch serve --demo` as a person runs it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from tests.agents.phones import PhoneAgent

pytestmark = pytest.mark.integration

DEMO_LINE = re.compile(r"^line (\d+) password (\S+) domain (\S+)$")
LISTENING = re.compile(r"^listening for SIP on udp and tcp (\S+):(\d+)$")
OPERATOR = re.compile(r"^operator (\S+) password (\S+) line (\d+)$")
CONSOLE = re.compile(r"^operator console on http://(\S+):(\d+)/$")


async def start_serve(data_dir: Path, port: int = 0) -> tuple[asyncio.subprocess.Process, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTSWITCH_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "softswitch", "serve", "--demo",
        "--sip-host", "127.0.0.1", "--sip-port", str(port), "--data-dir", str(data_dir),
        "--http-host", "127.0.0.1", "--http-port", "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    seen: dict = {"lines": {}}
    assert process.stdout is not None
    while "operator" not in seen:
        raw = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if not raw:
            stderr = await process.stderr.read() if process.stderr else b""
            raise AssertionError(f"serve exited: {stderr.decode()[-2000:]}")
        text = raw.decode().strip()
        if m := LISTENING.match(text):
            seen["port"] = int(m.group(2))
        elif text.startswith("database "):
            seen["database"] = text
        elif m := DEMO_LINE.match(text):
            seen["lines"][m.group(1)] = (m.group(2), m.group(3))
        elif m := OPERATOR.match(text):
            seen["operator"] = (m.group(1), m.group(2), m.group(3))
        elif m := CONSOLE.match(text):
            seen["console"] = int(m.group(2))
    return process, seen


async def stop_serve(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), timeout=30)
    assert process.returncode == 0


async def test_demo_serve_registers_a_phone_and_keeps_it_across_restarts(
    tmp_path: Path, phone_agent: PhoneAgent
) -> None:
    data_dir = tmp_path / "data"
    process, first = await start_serve(data_dir)
    try:
        assert "softswitch-data" not in first["database"]
        assert str(data_dir) in first["database"]
        assert set(first["lines"]) == {"5551001", "5551002", "5552001", "5551100"}
        assert first["operator"][0] == "ada" and first["operator"][2] == "5551100"
        assert first["console"] > 0
        password, domain = first["lines"]["5551001"]
        assert domain == f"127.0.0.1:{first['port']}"
        await phone_agent.aio.add_account(
            "desk", user="5551001", domain=domain, registrar=f"sip:{domain}", password=password
        )
        await phone_agent.aio.wait_event("reg_state", account="desk", code=200, timeout=10)
    finally:
        await stop_serve(process)

    bindings = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "softswitch", "bindings", "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(bindings.communicate(), timeout=60)
    assert bindings.returncode == 0
    assert "5551001" in out.decode() and f"127.0.0.1:{phone_agent.udp_port}" in out.decode()

    process, second = await start_serve(data_dir, first["port"])
    try:
        assert second["lines"] == first["lines"]  # same lines, same passwords
        assert second["operator"] == first["operator"]
        await phone_agent.aio.register("desk")
        await phone_agent.aio.wait_event("reg_state", account="desk", code=200, timeout=10)
    finally:
        await stop_serve(process)
