"""py-spy on the softswitch under load: a flame graph (SVG), then a raw profile of collapsed
stacks that is summarised here (the functions the samples were in, and the layers).

Only samples of a thread holding the GIL are kept (`--gil`). Without it, py-spy counted the
idle thread-pool and libuv threads as busy on this kind of VM, and with `--nonblocking` it put
most samples in the event loop itself. uvloop polls without the GIL, so what remains is the
time the softswitch runs Python code or C code called from it, and the count of samples over
those possible is the share of a CPU it used. A sample whose innermost Python frame is the
event loop's `Runner.run` is time in uvloop's C code holding the GIL (receiving datagrams,
running callbacks and timers)."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from . import procs
from .options import REPOSITORY, shown

RAMP_UP = 3.0  # seconds of load before sampling starts
RATE = 100  # samples a second
_LINE = re.compile(r":\d+\)$")

# Where a sample's innermost frame is, by the file it comes from, first match wins.
LAYERS = [
    ("softswitch/sip/", "SIP parsing and printing"),
    ("softswitch/transaction/", "transactions and timers"),
    ("softswitch/transport/", "transport (sockets, dispatch)"),
    ("softswitch/proxy/", "proxy core"),
    ("softswitch/routing/", "routing"),
    ("softswitch/registrar/", "registrar"),
    ("softswitch/store/", "store (PostgreSQL client side)"),
    ("softswitch/calls.py", "call service"),
    ("softswitch/", "softswitch, other"),
    ("asyncpg", "asyncpg"),
    ("Runner.run (", "event loop in C (uvloop: polling, receiving, timers)"),
    ("uvloop", "uvloop"),
    ("asyncio", "asyncio"),
    ("logging", "logging"),
]


class Recorder:
    """Runs py-spy twice in the background during a step: SVG, then raw."""

    def __init__(self, pyspy: str, pid: int, cpus: frozenset[int] | None, seconds: float) -> None:
        self.pyspy = pyspy
        self.pid = pid
        self.cpus = cpus
        self.seconds = seconds
        self._thread: threading.Thread | None = None
        self._errors: list[str] = []

    def start(self, svg: Path, raw: Path) -> None:
        svg.parent.mkdir(parents=True, exist_ok=True)
        raw.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, args=(svg, raw), daemon=True)
        self._thread.start()

    def finish(self) -> None:
        if self._thread is not None:
            self._thread.join(2 * self.seconds + 120)
        if self._errors:
            raise subprocess.SubprocessError("; ".join(self._errors))

    def _run(self, svg: Path, raw: Path) -> None:
        time.sleep(RAMP_UP)
        for path, form in ((svg, "flamegraph"), (raw, "raw")):
            argv = [self.pyspy, "record", "--pid", str(self.pid), "--gil"]
            argv += ["--rate", str(RATE), "--duration", str(int(self.seconds))]
            # run from the repository with the path relative to it: the flame graph's title
            # shows the command, and committed results name no machine's folders
            argv += ["--format", form, "-o", shown(path)]
            try:
                done = subprocess.run(
                    procs.taskset(self.cpus, argv),
                    cwd=REPOSITORY,
                    capture_output=True,
                    text=True,
                    timeout=self.seconds + 60,
                )
            except subprocess.TimeoutExpired:
                self._errors.append(f"py-spy ({form}) did not finish")
                continue
            if done.returncode != 0:
                self._errors.append(f"py-spy ({form}): {done.stderr.strip()[-300:]}")


def summarise(raw: Path, seconds: float, top: int = 15) -> dict[str, Any]:
    """Shares of the samples: by innermost function (self), by function anywhere on the stack
    (inclusive), and by layer of the innermost softswitch-or-library frame; and the share of a
    CPU the samples stand for."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    try:
        lines = raw.read_text().splitlines()
    except FileNotFoundError:
        return {"error": f"{raw} not written"}
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_LINE.sub(")", f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
        layers[_layer(frames[-1])] += count
    if not total:
        return {"samples": 0}

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * c / total, 1)) for name, c in counter.most_common(n)]

    everywhere = [frame for frame, count in anywhere.items() if count >= 0.99 * total]
    for frame in everywhere:  # the entry point and the event loop: in every sample
        del anywhere[frame]
    return {
        "samples": total,
        "cpu_share": round(total / (RATE * seconds), 3),
        "self": shares(own, top),
        "inclusive": shares(anywhere, top),
        "layers": shares(layers, len(LAYERS) + 1),
    }


def _layer(frame: str) -> str:
    for needle, name in LAYERS:
        if needle in frame:
            return name
    return "other (interpreter, C code, GC)"
