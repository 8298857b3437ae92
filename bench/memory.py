"""Memory of the softswitch holding many registrations: the node loads every unexpired binding
(and every line's credentials) into memory at start. Measured three times on one database:
empty; with N lines; with N lines each registered once (bindings written through
`Store.write_bindings`, as the registrar writes them)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import procs
from .database import fresh_database
from .options import Options
from .progress import say
from .provision import add_bindings, add_lines, line_numbers, softswitch_command
from .targets import start_softswitch

SETTLE = 3.0  # seconds after start before reading the RSS


def run_memory(options: Options) -> dict[str, Any]:
    placement = procs.Placement.for_machine()
    workdir = options.workdir / "memory"
    count = options.bindings
    result: dict[str, Any] = {"placement": placement.describe(), "lines": count}
    say(f"memory: {count} lines and bindings")
    with fresh_database(options.database_url) as database:
        database.place(placement.load)
        softswitch_command(
            database.url, "exchange", "add", "BEN", "--name", "Bench", "--prefix", "55"
        )
        result["empty"] = _measure(database.url, workdir, placement)
        numbers = list(line_numbers(count))
        started = time.monotonic()
        asyncio.run(add_lines(database.url, numbers))
        result["lines_seconds"] = round(time.monotonic() - started, 1)
        result["with_lines"] = _measure(database.url, workdir, placement)
        started = time.monotonic()
        asyncio.run(add_bindings(database.url, numbers))
        result["bindings_seconds"] = round(time.monotonic() - started, 1)
        result["bindings_stored"] = database.count("SELECT count(*) FROM bindings")
        result["with_bindings"] = _measure(database.url, workdir, placement)
        result["postgresql"] = database.where
    lines_cost = result["with_lines"]["rss_bytes"] - result["empty"]["rss_bytes"]
    bindings_cost = result["with_bindings"]["rss_bytes"] - result["with_lines"]["rss_bytes"]
    result["bytes_per_line"] = round(lines_cost / count) if count else None
    result["bytes_per_binding"] = round(bindings_cost / count) if count else None
    say(
        f"  RSS empty {_mb(result['empty']['rss_bytes'])}, {count} lines "
        f"{_mb(result['with_lines']['rss_bytes'])}, + {result['bindings_stored']} bindings "
        f"{_mb(result['with_bindings']['rss_bytes'])} "
        f"(start {result['with_bindings']['start_seconds']} s)"
    )
    return result


def _measure(database_url: str, workdir: Any, placement: procs.Placement) -> dict[str, Any]:
    started = time.monotonic()
    target = start_softswitch(database_url, workdir, placement.server, timeout=600)
    try:
        start_seconds = round(time.monotonic() - started, 2)
        time.sleep(SETTLE)
        return {
            "rss_bytes": target.memory_bytes(),
            "peak_rss_bytes": procs.peak_rss_bytes(target.pid),
            "start_seconds": start_seconds,
        }
    finally:
        target.stop()


def _mb(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"
