"""`python -m bench [calls|calls-auth|register|memory|routing|hotpath|all] [--quick]`: run,
then write bench/results/<date>.json, .md and (with matplotlib) .png."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from . import chart, machine, report
from .calls import run_calls, run_calls_with_auth
from .memory import run_memory
from .options import Options, shown
from .progress import say
from .register import run_register
from .routing_run import run_hotpath, run_routing
from .sipp import sipp_path

BENCHMARKS: dict[str, Callable[[Options], dict[str, Any]]] = {
    "calls": run_calls,
    "calls-auth": run_calls_with_auth,
    "register": run_register,
    "memory": run_memory,
    "routing": run_routing,
    "hotpath": run_hotpath,
}
NEED_SIPP = {"calls", "calls-auth", "register"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the softswitch (and Kamailio) with sipp."
    )
    parser.add_argument(
        "benchmark", nargs="?", default="all", choices=[*BENCHMARKS, "all"], help="default: all"
    )
    parser.add_argument("--quick", action="store_true", help="short steps, fewer of them")
    parser.add_argument("--seconds", type=float, help="seconds of load per step (default 20)")
    parser.add_argument("--settle", type=float, help="pause after each step (default 5 s)")
    parser.add_argument(
        "--tail",
        type=float,
        help="seconds after each step whose server CPU counts to it, less the idle use "
        "(default 35: transactions wait out 64*T1 = 32 s; 0 with --quick)",
    )
    parser.add_argument(
        "--rates", type=lambda t: [float(r) for r in t.split(",")], help="e.g. 500,1000,2000"
    )
    parser.add_argument("--start-rate", type=float, help="first rate of the doubling (100)")
    parser.add_argument("--max-rate", type=float, help="no step above this rate")
    parser.add_argument(
        "--refine", type=int, help="steps between the last pass and the first failure (2)"
    )
    parser.add_argument("--lines", type=int, help="lines provisioned (default 10000)")
    parser.add_argument("--bindings", type=int, help="bindings for the memory benchmark")
    parser.add_argument("--no-kamailio", action="store_true", help="the softswitch only")
    parser.add_argument(
        "--caller-auth",
        action="store_true",
        help="calls authenticate as lines (407), the UAC on 127.0.0.2; no Kamailio "
        "(what `calls-auth` runs)",
    )
    parser.add_argument(
        "--overload",
        type=float,
        help="a step at this many times the softswitch's best call rate, to see it shed "
        "load (default 2; 0: none)",
    )
    parser.add_argument("--flame", action="store_true", help="py-spy at 80%% of the best rate")
    parser.add_argument("--flame-seconds", type=float, help="py-spy recording length")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server for fresh databases (else $DATABASE_URL, "
        "else an embedded server)",
    )
    parser.add_argument("--results", type=Path, help="where results go (bench/results)")
    return parser


def options_from(args: argparse.Namespace) -> Options:
    values: dict[str, Any] = {
        "seconds": args.seconds,
        "settle": args.settle,
        "tail": args.tail,
        "rates": args.rates,
        "start_rate": args.start_rate,
        "max_rate": args.max_rate,
        "refine": args.refine,
        "lines": args.lines,
        "bindings": args.bindings,
        "flame_seconds": args.flame_seconds,
        "overload": args.overload,
        "database_url": args.database_url,
    }
    values = {k: v for k, v in values.items() if v is not None}
    values["kamailio"] = not args.no_kamailio
    values["caller_auth"] = args.caller_auth
    values["flame"] = args.flame
    if args.results is not None:
        values["results"] = args.results
        values["workdir"] = args.results / "tmp"
    values["stamp"] = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Options.quick_run(**values) if args.quick else Options(**values)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = options_from(args)
    chosen = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    if sipp_path() is None and NEED_SIPP & set(chosen):
        say("sipp is not installed (Debian package sip-tester): calls and register skipped")
        chosen = [c for c in chosen if c not in NEED_SIPP]
    words = sys.argv[1:] if argv is None else list(argv)
    results: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "bench", *words]),
        "machine": machine.describe(),
        "options": options.as_dict(),
    }
    options.workdir.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        results[name] = BENCHMARKS[name](options)
    if "calls" in results:
        png = options.results / f"{options.stamp}.png"
        why_not = chart.draw(results["calls"], png)
        if why_not is None:
            results["chart"] = shown(png)
        else:
            say(why_not)
    json_path, md_path = report.write(results, options.results, options.stamp)
    say(
        f"results: {json_path}, {md_path}" + (f", {results['chart']}" if "chart" in results else "")
    )
    sys.stdout.write(md_path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
