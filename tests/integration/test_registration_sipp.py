"""sipp registers many lines with digest authentication over UDP and TCP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from softswitch.server import Softswitch

from .conftest import provision, switch_settings

pytestmark = pytest.mark.integration

SCENARIO = Path(__file__).parent.parent / "sipp" / "register_auth.xml"
LINES = [(f"55510{i:02d}", f"secret-{i}") for i in range(10, 30)]


@pytest.fixture
async def switch(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    """sipp 3.6 answers only the first challenge and knows only MD5, like many older desk
    phones: the node offers MD5 first, as such an office would configure it."""
    settings = switch_settings(tmp_path, digest_algorithms="MD5,SHA-256")
    node = await Softswitch.open(settings, fresh_database_url)
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_sipp_registers_lines(
    switch: Softswitch, sipp: str, tmp_path: Path, transport: str
) -> None:
    await provision(switch.store, *LINES)
    # the running node learns of lines added by another process through NOTIFY
    await _wait_until(lambda: all(n in switch.credentials for n, _ in LINES))
    injection = tmp_path / "lines.csv"
    injection.write_text(
        "SEQUENTIAL\n"
        + "".join(f"{n};{p};600;[authentication username={n} password={p}]\n" for n, p in LINES)
    )
    process = await asyncio.create_subprocess_exec(
        sipp,
        f"127.0.0.1:{switch.sip_port}",
        "-sf",
        str(SCENARIO),
        "-inf",
        str(injection),
        "-t",
        "u1" if transport == "udp" else "t1",
        "-i",
        "127.0.0.1",
        "-p",
        "0",
        "-m",
        str(len(LINES)),
        "-r",
        "50",
        "-timeout",
        "20",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-trace_stat",
        "-stf",
        str(tmp_path / "stat.csv"),
        "-error_file",
        str(tmp_path / "errors.log"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert process.returncode == 0, f"sipp failed: {stderr.decode()[-2000:]}\n{errors[-2000:]}"

    stored = await switch.store.load_bindings(time.time())
    by_line = {b.line_number: b for b in stored}
    assert set(by_line) == {n for n, _ in LINES}
    assert all(b.source_transport == transport for b in stored)
    assert all(590 <= b.expires_in(time.time()) <= 600 for b in stored)


async def _wait_until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
