"""The call benchmark: sipp UAC -> server -> sipp UAS, INVITE/100/180/200/ACK, 1 s, BYE/200,
in rising steps, against the softswitch and then Kamailio with each allocator.

The softswitch runs on a clean PostgreSQL with the benchmark network provisioned (call records
on, as by default). sipp's calls come from the ORIG exchange's trunk address, so they are
trusted like a peer exchange's; with `caller_auth`, the UAC is a line instead (on 127.0.0.2,
since trust is by address) and answers a 407 challenge on every call.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from . import kamailio_cfg, procs, profile
from .database import fresh_database
from .load import Bench, Load, run_step
from .options import Options, shown
from .progress import say, step_line
from .provision import CALLED_NUMBER, injection_file, provision_network
from .steps import Step, best_rate, doubling_rates, nice, sweep
from .targets import Server, Target, kamailio_path, start_kamailio, start_softswitch

AUTH_CALLER_HOST = "127.0.0.2"


def run_calls(options: Options) -> dict[str, Any]:
    placement = procs.Placement.for_machine()
    workdir = options.workdir / "calls"
    uas_port, uac_port = procs.free_udp_port(), procs.free_udp_port()
    result: dict[str, Any] = {
        "placement": placement.describe(),
        "tail": options.tail,
        "targets": {},
    }
    say(f"calls: {placement.describe()}")
    with fresh_database(options.database_url) as database:
        database.place(placement.load)
        started = time.monotonic()
        provision_network(
            database.url,
            workdir,
            lines=options.lines,
            uas_port=uas_port,
            uac_port=None if options.caller_auth else uac_port,
        )
        result["provisioned"] = {
            "lines": options.lines,
            "seconds": round(time.monotonic() - started, 1),
        }
        bench = Bench(
            workdir, placement, uas_port, uac_port, options.settle, database, options.tail
        )
        port = procs.free_udp_port()
        start = partial(start_softswitch, database.url, workdir, placement.server, port=port)
        with Server(start) as server:
            say(f"softswitch: pid {server.target.pid}, {server.target.describe_placement()}")
            result["targets"]["softswitch"] = sweep_target(
                server,
                softswitch_load(options, workdir),
                bench,
                options,
                flame=options.flame,
                overload=options.overload,
            )
        result["postgresql"] = database.place(placement.load)
    if options.kamailio and options.caller_auth:
        result["kamailio"] = "not run: the Kamailio configuration does not authenticate calls"
    elif options.kamailio and kamailio_path() is not None:
        bench.database = None
        for name, memory in kamailio_cfg.MEMORY_VARIANTS.items():
            port = procs.free_udp_port()
            config = kamailio_cfg.proxy(port, uas_port)
            start = partial(
                start_kamailio,
                config,
                workdir,
                placement.server,
                name=name,
                port=port,
                memory=memory,
            )
            with Server(start) as server:
                say(f"{name}: pid {server.target.pid} {' '.join(memory)}")
                result["targets"][name] = sweep_target(
                    server,
                    Load("uac_call.xml", True, service=CALLED_NUMBER),
                    bench,
                    options,
                    also=[result["targets"]["softswitch"]["best"]],
                )
                result["targets"][name]["options"] = " ".join(memory) or "default allocator"
    elif options.kamailio:
        result["kamailio"] = "not run: kamailio is not installed"
    result["ratios"] = ratios(result["targets"])
    return result


def run_calls_with_auth(options: Options) -> dict[str, Any]:
    """The calls benchmark with every INVITE challenged (407) and answered with credentials:
    the softswitch alone, the Kamailio configuration does not authenticate."""
    return run_calls(replace(options, caller_auth=True, kamailio=False, flame=False))


def softswitch_load(options: Options, workdir: Path) -> Load:
    if not options.caller_auth:
        return Load("uac_call.xml", True, service=CALLED_NUMBER)
    injection = injection_file(workdir / "callers.csv", min(options.lines, 10_000))
    return Load(
        "uac_auth_call.xml", True, service=CALLED_NUMBER, injection=injection, host=AUTH_CALLER_HOST
    )


def sweep_target(
    server: Server,
    load: Load,
    bench: Bench,
    options: Options,
    *,
    half: bool = True,
    flame: bool = False,
    overload: float = 0.0,
    also: Sequence[float | None] = (),
) -> dict[str, Any]:
    """The rising steps; steps at the rates `also` (another target's best, to compare at the
    same load) if not run yet; with `half` the step at half the best rate (for latency); with
    `overload` a step at that many times the best rate (past capacity: what gets through);
    with `flame` a profiled step at 80 % of the best rate. The server is restarted after a
    failed step."""

    def run(rate: float) -> Step:
        step = run_step(server.target, load, rate, options.seconds, bench)
        say(step_line(step))
        if not step.passed:
            server.restart()
            say(f"  {server.target.name} restarted: pid {server.target.pid}")
        return step

    rates = options.rates or doubling_rates(options.start_rate, options.max_rate)
    steps = sweep(run, rates, refine=options.refine)
    best = best_rate(steps)
    for rate in also:
        if rate is not None and all(s.offered != rate for s in steps):
            steps.append(run(rate))
    found: dict[str, Any] = {"best": best}
    if half and best is not None:
        half_rate = nice(best / 2)
        at_half = next((s for s in steps if s.offered == half_rate), None)
        if at_half is None:
            at_half = run(half_rate)
            steps.append(at_half)
        found["half"] = at_half.as_dict()
    found["steps"] = [s.as_dict() for s in steps]
    if overload and best is not None:
        found["overload"] = run(nice(best * overload)).as_dict()
    if flame and best is not None:
        found["profile"] = profiled_step(server.target, load, bench, options, nice(best * 0.8))
    found["placement"] = server.target.describe_placement()
    found["restarts"] = server.restarts
    return found


def profiled_step(
    target: Target, load: Load, bench: Bench, options: Options, rate: float
) -> dict[str, Any]:
    """A step at `rate` with py-spy attached: a flame graph, then a raw profile to summarise."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        return {"skipped": "py-spy is not installed (pip install py-spy)"}
    svg = options.results / f"{options.stamp}-flame.svg"
    raw = options.workdir / "calls" / f"{options.stamp}-profile.txt"
    record = profile.Recorder(pyspy, target.pid, bench.placement.load, options.flame_seconds)
    seconds = options.seconds + 2 * options.flame_seconds + 5
    step = run_step(target, load, rate, seconds, bench, during=lambda: record.start(svg, raw))
    say(step_line(step) + "  (profiled)")
    try:
        record.finish()
    except subprocess.SubprocessError as err:
        return {"rate": rate, "step": step.as_dict(), "error": str(err)}
    return {
        "rate": rate,
        "step": step.as_dict(),
        "flame_graph": shown(svg),
        "summary": profile.summarise(raw, options.flame_seconds),
    }


def ratios(targets: dict[str, Any], pairs: dict[str, str] | None = None) -> dict[str, Any]:
    """Softswitch ÷ each other target: best rate; CPU per call (or per registration), the part
    of it outside the kernel, and memory at the highest rate both passed; CPU per call at each
    one's own best rate; INVITE->180 latency at half of each one's best rate. `pairs`: the
    softswitch target each reference is compared with (default: "softswitch" for all)."""
    pairs = pairs or {}
    found: dict[str, Any] = {}
    for name, theirs in targets.items():
        if name.startswith("softswitch"):
            continue
        ours_name = pairs.get(name, "softswitch")
        ours = targets.get(ours_name)
        if not ours:
            continue
        entry: dict[str, Any] = {"softswitch": ours_name}
        if ours.get("best") and theirs.get("best"):
            entry["best_rate"] = round(ours["best"] / theirs["best"], 3)
            a, b = (_at(s["steps"], s["best"]) for s in (ours, theirs))
            entry["cpu_per_call_at_each_best"] = _ratio(a, b, "server_cpu_us_per_call")
        common = _common_rate(ours["steps"], theirs["steps"])
        if common is not None:
            a, b = (_at(s["steps"], common) for s in (ours, theirs))
            entry["at_rate"] = common
            entry["cpu_per_call"] = _ratio(a, b, "server_cpu_us_per_call")
            entry["user_cpu_per_call"] = _outside_kernel_ratio(a, b)
            entry["memory"] = _ratio(a, b, "memory_bytes")
        ha, hb = ours.get("half"), theirs.get("half")
        if ha and hb and ha["latency_180"]["p50"] and hb["latency_180"]["p50"]:
            entry["latency_180_p50_at_half"] = round(
                ha["latency_180"]["p50"] / hb["latency_180"]["p50"], 2
            )
        found[name] = entry
    return found


def _ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
    return round(a[key] / b[key], 2) if a.get(key) and b.get(key) else None


def _outside_kernel_ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    ours, theirs = _outside_kernel(a), _outside_kernel(b)
    return round(ours / theirs, 2) if ours and theirs else None


def _outside_kernel(step: dict[str, Any]) -> float | None:
    """The server's CPU per call less its kernel's (None in results from before the kernel's
    was kept): the work of the server's own code, what its language and design decide."""
    total, kernel = step.get("server_cpu_us_per_call"), step.get("server_kernel_us_per_call")
    return None if total is None or kernel is None else total - kernel


def _common_rate(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> float | None:
    passed = {s["offered"] for s in ours if s["passed"]} & {
        s["offered"] for s in theirs if s["passed"]
    }
    return max(passed) if passed else None


def _at(steps: list[dict[str, Any]], rate: float) -> dict[str, Any]:
    return next(s for s in steps if s["offered"] == rate and s["passed"])
