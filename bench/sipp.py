"""sipp as the benchmark's load: command lines, runs bounded in time, and what it wrote
(its statistics CSV and the per-call timestamps of the scenarios' <log> actions)."""

from __future__ import annotations

import contextlib
import csv
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from . import procs

SCENARIOS = Path(__file__).parent / "scenarios"
HOST = "127.0.0.1"
OPEN_FILES = 1 << 20


def sipp_path() -> str | None:
    return shutil.which("sipp")


def sipp_version() -> str | None:
    binary = sipp_path()
    if binary is None:
        return None
    done = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10)
    for line in (done.stdout + done.stderr).splitlines():
        if "SIPp v" in line:
            return line.strip().rstrip(".")
    return None


@dataclass
class Sipp:
    """One sipp process and the files it writes."""

    name: str
    process: subprocess.Popen[bytes]
    stat_file: Path
    log_file: Path
    error_file: Path
    screen: Path

    def wait(self, timeout: float) -> int | None:
        """Its exit status, or None if it still runs after `timeout` seconds."""
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def quit(self, grace: float = 10.0) -> int:
        """Ask it to finish its calls and exit (SIGUSR1), then stop it by its PID."""
        return procs.stop(self.process, grace=grace, sig=signal.SIGUSR1)

    def stop(self) -> int:
        """Stop it now, by its PID."""
        return procs.stop(self.process, grace=3)

    def stats(self) -> dict[str, str]:
        """The last row of its statistics file (cumulative counters end in `(C)`)."""
        try:
            with self.stat_file.open(newline="") as file:
                rows = list(csv.reader(file, delimiter=";"))
        except FileNotFoundError:
            return {}
        if len(rows) < 2:
            return {}
        return dict(zip(rows[0], rows[-1], strict=False))

    def trouble(self) -> str:
        """Why sipp stopped, when it did not run its calls: its last words."""
        return self.errors(2) or procs.tail(self.screen, 3).replace("\n", " ")

    def errors(self, lines: int = 5) -> str:
        text = ""
        with contextlib.suppress(FileNotFoundError):
            text = self.error_file.read_text(errors="replace")
        return " | ".join(text.replace("\r", "").split("\n")[-lines - 1 :]).strip(" |")


def counter(stats: dict[str, str], name: str) -> int:
    try:
        return int(stats.get(f"{name}(C)", "0") or 0)
    except ValueError:
        return 0


def start(
    name: str,
    workdir: Path,
    scenario: str,
    args: list[str],
    cpus: frozenset[int] | None,
) -> Sipp:
    binary = sipp_path()
    if binary is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    files = {key: workdir / f"{name}.{key}" for key in ("stat.csv", "log", "errors", "screen")}
    for path in files.values():
        path.unlink(missing_ok=True)
    argv = [binary, *args, "-sf", str(SCENARIOS / scenario), "-nostdin"]
    argv += ["-ci", HOST, "-cp", str(procs.free_udp_port())]
    argv += ["-trace_stat", "-stf", str(files["stat.csv"]), "-fd", "1"]
    argv += ["-trace_err", "-error_file", str(files["errors"])]
    argv += ["-trace_logs", "-log_file", str(files["log"])]
    with files["screen"].open("wb") as screen:
        process = subprocess.Popen(
            procs.taskset(cpus, argv),
            stdout=screen,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=workdir,
            preexec_fn=_more_files,
        )
    return Sipp(name, process, files["stat.csv"], files["log"], files["errors"], files["screen"])


def _more_files() -> None:
    """sipp wants a file descriptor per open call (for media): raise the limit (root may raise
    the hard limit too)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def wait_bound(sipp: Sipp, port: int, timeout: float = 5.0) -> None:
    """Wait until sipp listens on its UDP port (or has exited, which the caller will see)."""
    deadline = time.monotonic() + timeout
    wanted = f"0100007F:{port:04X}"
    while time.monotonic() < deadline and sipp.process.poll() is None:
        if any(wanted in line for line in Path("/proc/net/udp").read_text().splitlines()):
            return
        time.sleep(0.02)


def uas_args(port: int) -> list[str]:
    """A UAS on 127.0.0.1:`port`, answering until told to quit."""
    return ["-i", HOST, "-p", str(port), "-mi", HOST, "-mp", str(procs.free_media_port())]


def uac_args(
    server_port: int,
    local_port: int,
    *,
    rate: float,
    count: int,
    timeout: float,
    service: str | None = None,
    injection: Path | None = None,
    host: str = HOST,
) -> list[str]:
    """A UAC offering `count` calls at `rate` per second, open loop (the limit on open calls,
    ten seconds' worth, is only reached by a server far behind), giving up after `timeout`
    seconds."""
    args = [f"{HOST}:{server_port}", "-i", host, "-p", str(local_port)]
    args += ["-mi", host, "-mp", str(procs.free_media_port())]
    args += ["-r", f"{rate:g}", "-m", str(count), "-l", str(int(rate * 10) + 1000)]
    args += ["-timeout", f"{int(timeout)}s", "-timeout_error"]
    args += ["-max_recv_loops", "10000", "-max_sched_loops", "10000"]
    # A call that ends on an unexpected answer (a 503 past capacity) just ends, as a phone's
    # does: by default sipp would send a BYE after it, a request no phone sends there.
    args += ["-default_behaviors", "all,-bye"]
    if service is not None:
        args += ["-s", service]
    if injection is not None:
        args += ["-inf", str(injection)]
    return args


@dataclass(frozen=True, slots=True)
class CallTimes:
    """One call (or registration) as its <log> action saw it: when its first request left and
    when its final answer came (epoch seconds), and after how many seconds its 100 and its 180
    came (None: not received)."""

    sent: float
    done: float
    trying: float | None
    ringing: float | None


def call_times(log: Path) -> list[CallTimes]:
    """Parse the lines `s0 u0 s3 u3 [s1 u1 s2 u2]` written by the scenarios' <log> action:
    sent, done, 100 and 180 as seconds and microseconds (0 0: not received)."""
    found: list[CallTimes] = []
    with contextlib.suppress(FileNotFoundError), log.open() as file:
        for line in file:
            values = [float(v) for v in line.split()]
            if len(values) < 4:
                continue
            sent = values[0] + values[1] / 1e6
            stamps = [
                values[i] + values[i + 1] / 1e6 if values[i] > 0 else None
                for i in range(2, len(values) - 1, 2)
            ] + [None, None]
            done, trying, ringing = stamps[0], stamps[1], stamps[2]
            found.append(
                CallTimes(
                    sent,
                    done if done is not None else sent,
                    None if trying is None else trying - sent,
                    None if ringing is None else ringing - sent,
                )
            )
    return found


def reaped_children_cpu() -> float:
    """CPU of this process's children that have exited and been waited for: the sipp runs of a
    step are measured as the difference of this across the step."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime
