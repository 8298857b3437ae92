"""The benchmarks that run in one process on the server CPU, their printed figures parsed: the
routing decision (`bench/routing.py`, a 10,000-rule dialplan) and the proxy's hot path
(`bench/hotpath.py`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

from . import procs
from .options import REPOSITORY, Options
from .progress import say

_LOADED = re.compile(r"(\d+) rules: loaded and validated in ([\d.]+) s, compiled in (\d+) ms")
_TIMING = re.compile(r"(route\(\), [\w -]+?)\s+median\s+([\d.]+) µs\s+p99\s+([\d.]+) µs")


def run_routing(options: Options, rules: int = 10_000) -> dict[str, Any]:
    say(f"routing: {rules} rules, {options.routing_calls} decisions")
    argv = ["bench.routing", "--rules", str(rules), "--calls", str(options.routing_calls)]
    done = _on_server_cpu(argv)
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    result: dict[str, Any] = {"rules": rules, "decisions": options.routing_calls}
    loaded = _LOADED.search(done.stdout)
    if loaded:
        result["load_seconds"] = float(loaded.group(2))
        result["compile_ms"] = int(loaded.group(3))
    for label, median, p99 in _TIMING.findall(done.stdout):
        key = "compiled" if "compiled" in label else "in_order_walk"
        result[key] = {"median_us": float(median), "p99_us": float(p99)}
    say("  " + done.stdout.strip().replace("\n", "\n  "))
    return result


def run_hotpath(options: Options) -> dict[str, Any]:
    """`bench/hotpath.py` on the server CPU: the proxy's CPU per message, without sockets."""
    calls = 500 if options.quick else 2000
    say(f"hot path: {calls} calls a round, in one process")
    done = _on_server_cpu(["bench.hotpath", "--calls", str(calls)])
    if done.returncode != 0:
        return {"error": done.stderr.strip()[-2000:]}
    lines = done.stdout.strip().splitlines()
    say("  " + "\n  ".join(lines[:-1]))
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _on_server_cpu(module_argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS...` pinned to the CPU the servers run on."""
    argv = [sys.executable, "-m", *module_argv]
    return subprocess.run(
        procs.taskset(procs.Placement.for_machine().server, argv),
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=1800,
    )
