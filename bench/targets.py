"""The servers under test: the softswitch (`softswitch serve`) and Kamailio, each started on the
server CPU and measured the same way (CPU time, memory, UDP drops on its port)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import kamailio_cfg, procs
from .provision import REALM


@dataclass
class Target:
    """A running SIP server: its name, its port, the processes to measure."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    cpus: frozenset[int] | None
    placement: dict[int, list[int]] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        return [self.pid, *procs.children(self.pid)]

    def pin(self) -> None:
        """Pin every thread of every process of the server (new ones inherit the mask)."""
        self.placement = procs.pin(self.pids(), self.cpus)

    def cpu_seconds(self) -> float:
        return procs.tree_cpu_seconds(self.pid)

    def kernel_cpu_seconds(self) -> float:
        """The part of `cpu_seconds` the kernel spent on the server's system calls."""
        return procs.tree_cpu_seconds(self.pid, kernel_only=True)

    def memory_bytes(self) -> int:
        """RSS of the process; for a server of several processes, the sum of their PSS (their
        shared memory counted once)."""
        pids = self.pids()
        return procs.rss_bytes(self.pid) if len(pids) == 1 else procs.pss_bytes(pids)

    def udp_drops(self) -> int:
        return procs.udp_drops(self.port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        procs.stop(self.process, grace=20)

    def describe_placement(self) -> str:
        cpus = sorted({cpu for on in self.placement.values() for cpu in on})
        return f"{len(self.placement)} threads on CPU {','.join(map(str, cpus)) or '?'}"


def start_softswitch(
    database_url: str,
    workdir: Path,
    cpus: frozenset[int] | None,
    *,
    port: int | None = None,
    timeout: float = 120.0,
    settings: dict[str, str] | None = None,
    name: str = "softswitch",
) -> Target:
    """`softswitch serve` on 127.0.0.1, MD5 offered first (sipp knows no other digest);
    `settings`: more, by environment variable; `name`: the target's in the results."""
    port = port or procs.free_udp_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"softswitch-{port}.log"
    env = {
        **os.environ,
        "SOFTSWITCH_DIGEST_ALGORITHMS": "MD5,SHA-256",
        "SOFTSWITCH_REALM": REALM,
        "SOFTSWITCH_NODE": "bench",
        "SOFTSWITCH_DATA_DIR": str(workdir / "data"),
        "SOFTSWITCH_HTTP_HOST": "127.0.0.1",  # the operator console: loopback, any free port
        "SOFTSWITCH_HTTP_PORT": "0",
        "PYTHONUNBUFFERED": "1",
        **(settings or {}),
    }
    argv = [sys.executable, "-m", "softswitch", "serve", "--sip-host", "127.0.0.1"]
    argv += ["--sip-port", str(port), "--database-url", database_url]
    argv += ["--http-host", "127.0.0.1", "--http-port", "0"]  # the console on any free port
    with log.open("wb") as out:
        process = subprocess.Popen(
            procs.taskset(cpus, argv), stdout=out, stderr=subprocess.STDOUT, env=env
        )
    target = Target(name, port, process, log, cpus)
    try:
        procs.wait_for_text(log, "listening for SIP", process, timeout)
    except BaseException:
        target.stop()
        raise
    target.pin()
    return target


def kamailio_path() -> str | None:
    return shutil.which("kamailio") or next(
        (p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio") if os.path.exists(p)), None
    )


def kamailio_version() -> str | None:
    binary = kamailio_path()
    if binary is None:
        return None
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].replace("version:", "").strip() if first else None


def start_kamailio(
    config: str,
    workdir: Path,
    cpus: frozenset[int] | None,
    *,
    name: str,
    port: int,
    memory: list[str],
    timeout: float = 30.0,
) -> Target:
    """Kamailio in the foreground (`-DD -E`) with its children, logging to a file."""
    binary = kamailio_path()
    if binary is None:
        raise RuntimeError("kamailio is not installed")
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = workdir / f"{name}.cfg"
    cfg.write_text(config)
    log = workdir / f"{name}.log"
    argv = [binary, "-f", str(cfg), "-DD", "-E", "-Y", str(workdir), *memory]
    with log.open("wb") as out:
        process = subprocess.Popen(procs.taskset(cpus, argv), stdout=out, stderr=subprocess.STDOUT)
    target = Target(name, port, process, log, cpus)
    try:
        procs.wait_for_text(log, kamailio_cfg.READY, process, timeout)
        _wait_for_children(target, timeout)
    except BaseException:
        target.stop()
        raise
    target.pin()
    return target


def _wait_for_children(target: Target, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(target.pids()) < 2:
        if time.monotonic() > deadline or not target.alive():
            raise RuntimeError(f"kamailio did not start its workers: {procs.tail(target.log)}")
        time.sleep(0.05)
    time.sleep(0.5)


class Server:
    """A server under test that can be started again: after a failed step, the server is
    restarted, so that the next step does not inherit the overload (transactions waiting for
    their timers, a backlog of datagrams and call records)."""

    def __init__(self, start: Callable[[], Target]) -> None:
        self._start = start
        self.target = start()
        self.restarts = 0

    def restart(self) -> None:
        self.target.stop()
        self.target = self._start()
        self.restarts += 1

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.target.stop()
