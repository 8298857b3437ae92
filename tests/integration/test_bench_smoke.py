"""The call and registration benchmarks (`python -m bench calls`, `register`) run end to end
against a real softswitch and a real PostgreSQL: a few seconds at a low rate, no Kamailio. They
check that the driver produces a well-formed result and that nothing failed, not how fast
anything was."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench import machine, propagation, report
from bench.calls import run_calls
from bench.options import Options
from bench.register import run_register

pytestmark = pytest.mark.integration

RATE = 20.0
SECONDS = 3.0


async def test_call_benchmark_runs_against_a_real_softswitch(
    sipp: str, database_url: str, tmp_path: Path
) -> None:
    options = Options(
        seconds=SECONDS,
        settle=0.5,
        tail=1.0,
        rates=[RATE],
        refine=0,
        lines=20,
        kamailio=False,
        database_url=database_url,
        workdir=tmp_path / "work",
        results=tmp_path,
        stamp="smoke",
    )
    calls = await asyncio.to_thread(run_calls, options)

    softswitch = calls["targets"]["softswitch"]
    first = softswitch["steps"][0]
    assert first["target"] == "softswitch"
    assert first["offered"] == RATE
    assert first["offered_count"] == int(RATE * SECONDS)
    assert first["failed"] == 0, first["errors"]
    assert first["unfinished"] == 0
    assert first["successful"] == first["offered_count"]
    assert first["passed"]
    assert softswitch["best"] == RATE
    assert first["server_cpu"] > 0 and first["server_cpu_after"] >= 0
    total = first["server_cpu"] + first["server_cpu_after"]
    assert first["server_cpu_us_per_call"] == round(total / first["successful"] * 1e6, 1)
    # the kernel's share (system calls) is part of the server's CPU over the step
    assert 0 <= first["server_kernel_cpu"] <= first["server_cpu"]
    kernel = first["server_kernel_cpu"] / first["successful"] * 1e6
    assert first["server_kernel_us_per_call"] == round(kernel, 1)
    assert first["memory_bytes"] > 0
    assert first["latency_180"]["count"] == first["successful"]
    assert first["records"] is not None  # call records are counted in PostgreSQL
    for step in softswitch["steps"]:  # the step at half the best rate, for latency
        assert step["failed"] == 0 and step["unfinished"] == 0, step["errors"]
    # the step past capacity (twice the best rate; here far below capacity, so all carried)
    past = softswitch["overload"]
    assert past["offered"] == 2 * RATE
    assert past["successful"] == past["offered_count"] and past["rejected"] == 0

    results = {"command": "test", "machine": machine.describe(), "calls": calls}
    json_path, md_path = report.write(results, tmp_path, "smoke")
    assert json.loads(json_path.read_text())["calls"]["targets"]["softswitch"]["best"] == RATE
    assert "### softswitch" in md_path.read_text()
    assert "### softswitch past capacity" in md_path.read_text()


async def test_registration_benchmark_registers_with_and_without_digest(
    sipp: str, database_url: str, tmp_path: Path
) -> None:
    lines = 20
    options = Options(
        seconds=SECONDS,
        settle=0.5,
        tail=1.0,
        rates=[RATE],
        refine=0,
        lines=lines,
        kamailio=False,
        overload=0,
        database_url=database_url,
        workdir=tmp_path / "work",
        results=tmp_path,
        stamp="smoke",
    )
    register = await asyncio.to_thread(run_register, options)

    # sipp's scenarios expect a 401 then a 200 with digest, a 200 at once without: anything
    # else fails a registration
    assert set(register["targets"]) == {"softswitch", "softswitch-trusted"}
    for target in register["targets"].values():
        [step] = target["steps"]
        assert step["offered_count"] == int(RATE * SECONDS)
        assert step["failed"] == 0 and step["unfinished"] == 0, step["errors"]
        assert step["passed"] and target["best"] == RATE
        assert step["server_cpu_us_per_call"] > 0
    assert register["bindings_stored"] == lines  # every line, committed

    results = {"command": "test", "machine": machine.describe(), "register": register}
    _, md_path = report.write(results, tmp_path, "smoke")
    assert "### softswitch-trusted (authentication: none (trusted network)" in md_path.read_text()


async def test_binding_propagation_benchmark_sees_every_binding_reach_the_other_node(
    fresh_database_url: str,
) -> None:
    result = await propagation.measure(fresh_database_url, 40, 100.0)
    assert (result["lines"], result["rate"]) == (40, 100.0)
    for stage in propagation.STAGES:
        figures = result[stage]
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]
    # a binding is read by the other node only after its NOTIFY was heard
    assert result["read"]["p50"] >= result["heard"]["p50"]
