"""Processes the benchmark starts: CPU pinning, CPU time, memory, UDP drops, stopping by PID.

Everything is read from /proc (Linux only), so the figures are what the kernel accounted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nobody listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_media_port(host: str = "127.0.0.1") -> int:
    """A UDP port that is free with the three above it: sipp binds its media port, the one
    above for RTCP, and the next two for video, and fails the whole run if one is taken."""
    while True:
        base = free_udp_port(host)
        if base % 2 or base > 65532:
            continue
        sockets = []
        try:
            for port in range(base, base + 4):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind((host, port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True, slots=True)
class Placement:
    """Which CPU runs what: the server under test alone on one, the load generators on another."""

    server: frozenset[int] | None
    load: frozenset[int] | None

    @classmethod
    def for_machine(cls) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls(None, None)  # one CPU: nothing to separate
        return cls(frozenset({cpus[0]}), frozenset({cpus[1]}))

    def describe(self) -> str:
        if self.server is None or self.load is None:
            return "not pinned (fewer than 2 CPUs)"
        return f"server on CPU {_cpus(self.server)}, sipp on CPU {_cpus(self.load)}"


def _cpus(cpus: Iterable[int]) -> str:
    return ",".join(str(c) for c in sorted(cpus))


def taskset(cpus: frozenset[int] | None, argv: Sequence[str]) -> list[str]:
    """`argv` started on `cpus` (its threads and children inherit the mask)."""
    if cpus is None:
        return list(argv)
    return ["taskset", "-c", _cpus(cpus), *argv]


def threads(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        return []


def pin(pids: Iterable[int], cpus: frozenset[int] | None) -> dict[int, list[int]]:
    """Pin every thread of every process in `pids` to `cpus`; return {tid: its CPUs} as read
    back from the kernel, so a report can show that it held."""
    placed: dict[int, list[int]] = {}
    for pid in pids:
        for tid in threads(pid):
            with contextlib.suppress(ProcessLookupError):
                if cpus is not None:
                    os.sched_setaffinity(tid, cpus)
                placed[tid] = sorted(os.sched_getaffinity(tid))
    return placed


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (from the parent fields of /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (after the command name, which may hold spaces)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(
    pid: int, *, with_reaped_children: bool = False, kernel_only: bool = False
) -> float:
    """utime + stime of `pid` (and of its children that have exited and been waited for);
    stime alone with `kernel_only`: the time the kernel worked for it (system calls: sending
    and receiving datagrams, polling)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    utime, stime, cutime, cstime = (int(field) for field in fields[11:15])  # fields 14 to 17
    own, reaped = (stime, cstime) if kernel_only else (utime + stime, cutime + cstime)
    return (own + reaped if with_reaped_children else own) / CLOCK_TICKS


def tree_cpu_seconds(pid: int, *, kernel_only: bool = False) -> float:
    """CPU of a process and all its descendants, living or reaped."""
    return cpu_seconds(pid, with_reaped_children=True, kernel_only=kernel_only) + sum(
        cpu_seconds(c, kernel_only=kernel_only) for c in children(pid)
    )


def cpu_times(cpus: frozenset[int] | None) -> tuple[float, float]:
    """Seconds the CPUs `cpus` (all, if None) have been busy, and stolen by the hypervisor,
    since boot (/proc/stat)."""
    busy = steal = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        user, nice, system, _idle, _iowait, irq, softirq, stolen = map(int, rest.split()[:8])
        busy += user + nice + system + irq + softirq
        steal += stolen
    return busy / CLOCK_TICKS, steal / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    return _status_kb(pid, "VmRSS") * 1024


def peak_rss_bytes(pid: int) -> int:
    return _status_kb(pid, "VmHWM") * 1024


def pss_bytes(pids: Iterable[int]) -> int:
    """Proportional set size of several processes that share memory (Kamailio's children)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped on the IPv4 UDP sockets bound to `port` (full buffer)."""
    wanted = f":{port:04X}"
    drops = 0
    with contextlib.suppress(FileNotFoundError):
        for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(wanted):
                drops += int(fields[-1])
    return drops


def stop(
    process: subprocess.Popen[bytes], *, grace: float = 10.0, sig: int = signal.SIGTERM
) -> int:
    """Stop one process we started, by its PID: `sig`, then SIGKILL after `grace` seconds."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait(5)
    return process.returncode


def wait_for_text(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until `text` appears in the file `path` written by `process`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode}: {tail(path)}")
        time.sleep(0.05)
    raise RuntimeError(f"no {text!r} within {timeout:.0f} s: {tail(path)}")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"({path} not written)"
