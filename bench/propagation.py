"""How long a binding written through one node takes to reach another node.

Nodes share bindings through PostgreSQL: the registrar's write is group-committed, a trigger
sends NOTIFY `"<node> <line>,<line>,..."` for each statement, and every other node reads those
lines' bindings again
(`Softswitch._binding_changed`). A phone registered through one node can be called through
another once that read is done.

`python -m bench.propagation [--lines N] [--rate R] [--database-url URL]` provisions N lines on
a fresh database (embedded unless a URL is given), then writes one binding per line, R per
second, through a store of node `writer`, as the registrar does. A store of node `reader`
listens as a serving node does and reads the changed lines again, the lines changed during a
read gathered for the next. For each binding it measures, from the start of its write: the
commit, the NOTIFY heard by the reader, and the binding in the reader's hands. It prints the
median, p95, p99 and maximum of each (ms), and the same as JSON on its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from softswitch.store import Store, binding_notice

from .database import fresh_database
from .provision import add_lines, line_numbers, sample_binding

STAGES = ("committed", "heard", "read")


class Reader:
    """What a serving node does with the bindings channel (softswitch/server.py)."""

    def __init__(self, store: Store, started: dict[str, float]) -> None:
        self.store = store
        self.started = started
        self.heard: dict[str, float] = {}
        self.read: dict[str, float] = {}
        self.all_read = asyncio.Event()
        self._to_read: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def changed(self, payload: str) -> None:
        writer, lines = binding_notice(payload)
        if writer == "reader":
            return
        for line in lines:
            if line in self.started:
                self.heard.setdefault(line, time.perf_counter())
                self._to_read.add(line)
        if not self._to_read:
            return
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        while self._to_read:
            lines, self._to_read = self._to_read, set()
            bindings = await self.store.load_location_of(sorted(lines), time.time())
            now = time.perf_counter()
            for binding in bindings:
                self.read.setdefault(binding.line_number, now)
            if len(self.read) == len(self.started):
                self.all_read.set()


async def measure(database_url: str, lines: int, rate: float) -> dict[str, Any]:
    numbers = list(line_numbers(lines))
    setup = await Store.open(database_url)
    try:
        await setup.migrate()
        await setup.add_exchange("BEN", "Bench", "55")
    finally:
        await setup.close()
    await add_lines(database_url, numbers)
    writer = await Store.open(database_url, node="writer")
    reader_store = await Store.open(database_url, node="reader")
    started: dict[str, float] = {}
    committed: dict[str, float] = {}
    reader = Reader(reader_store, started)
    try:
        await reader_store.listen_bindings(reader.changed)

        async def write(index: int, number: str) -> None:
            binding = sample_binding(number, index, time.time() + 3600)
            started[number] = time.perf_counter()
            await writer.write_bindings(number, [binding])
            committed[number] = time.perf_counter()

        writes = []
        begin = time.perf_counter()
        for index, number in enumerate(numbers):
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writes.append(asyncio.create_task(write(index, number)))
        await asyncio.gather(*writes)
        await asyncio.wait_for(reader.all_read.wait(), timeout=60)
    finally:
        await writer.close()
        await reader_store.close()
    stamps = {"committed": committed, "heard": reader.heard, "read": reader.read}
    result: dict[str, Any] = {"lines": lines, "rate": rate}
    for stage in STAGES:
        elapsed = sorted((stamps[stage][n] - started[n]) * 1000 for n in numbers)
        result[stage] = {
            "p50": round(_quantile(elapsed, 0.50), 2),
            "p95": round(_quantile(elapsed, 0.95), 2),
            "p99": round(_quantile(elapsed, 0.99), 2),
            "max": round(elapsed[-1], 2),
        }
    return result


def _quantile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.propagation", description=__doc__)
    parser.add_argument("--lines", type=int, default=2000, help="bindings written (2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="bindings per second (200)")
    parser.add_argument("--database-url", help="a PostgreSQL server (else an embedded one)")
    args = parser.parse_args(argv)
    with fresh_database(args.database_url) as database:
        result = asyncio.run(measure(database.url, args.lines, args.rate))
        result["postgresql"] = database.where
    print(f"{args.lines} bindings at {args.rate:g}/s, ms from the start of the write:")
    for stage in STAGES:
        figures = result[stage]
        print(
            f"{stage:10} p50 {figures['p50']:7.2f}  p95 {figures['p95']:7.2f}  "
            f"p99 {figures['p99']:7.2f}  max {figures['max']:7.2f}"
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
