"""Run one step: sipp offers a rate for a while against a running server, and the server, sipp
and PostgreSQL are measured over it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import sipp
from .database import Database
from .meter import Measured, Reading
from .procs import Placement
from .steps import Latency, Step
from .targets import Target

CDR_COUNT = "SELECT count(*) FROM cdrs"


@dataclass(frozen=True)
class Load:
    """What sipp offers: a UAC scenario, and whether a UAS answers behind the server."""

    scenario: str
    with_uas: bool
    service: str | None = None
    injection: Path | None = None
    host: str = sipp.HOST  # the UAC's address


@dataclass
class Bench:
    """What every step of a run shares."""

    workdir: Path
    placement: Placement
    uas_port: int
    uac_port: int
    settle: float
    database: Database | None = None  # measured and counted when the softswitch is the target
    tail: float = 0.0  # seconds after a step whose server CPU counts to it (`work_left`)


def run_step(
    target: Target,
    load: Load,
    rate: float,
    seconds: float,
    bench: Bench,
    *,
    during: Callable[[], None] | None = None,
) -> Step:
    """Offer `rate` per second for `seconds`; measure; then let the server become quiet."""
    count = max(1, round(rate * seconds))
    stepdir = bench.workdir / target.name / f"{rate:g}"
    database = bench.database if target.name.startswith("softswitch") else None
    sipp_before = sipp.reaped_children_cpu()
    running: list[sipp.Sipp] = []
    try:
        if load.with_uas:
            uas_args = sipp.uas_args(bench.uas_port)
            running.append(
                sipp.start("uas", stepdir, "uas_call.xml", uas_args, bench.placement.load)
            )
            sipp.wait_bound(running[0], bench.uas_port)
        records_before = database.count(CDR_COUNT) if database is not None else None
        before = Reading.take(target, bench.placement, database)
        uac_args = _uac_args(target, load, rate, count, seconds, bench)
        uac = sipp.start("uac", stepdir, load.scenario, uac_args, bench.placement.load)
        running.append(uac)
        if during is not None:
            during()
        notes = _wait_for(uac, seconds * 2 + 90)
        measured = Measured.between(before, Reading.take(target, bench.placement, database))
        notes += measured.notes(bench.placement)
        memory = target.memory_bytes()
        for process in running:
            process.quit()
    except BaseException:  # interrupted: leave no sipp behind
        for process in running:
            process.stop()
        raise
    sipp_cpu = sipp.reaped_children_cpu() - sipp_before
    after = work_left(target, bench.tail)
    if not target.alive():
        notes.append(f"{target.name} exited during the step")
    wait_quiet(target, bench.settle)
    records = None
    if database is not None and records_before is not None:
        with contextlib.suppress(Exception):
            records = database.count(CDR_COUNT) - records_before
    stats = uac.stats()
    successful = sipp.counter(stats, "SuccessfulCall")
    failed = sipp.counter(stats, "FailedCall")
    times = sipp.call_times(uac.log_file)
    return Step(
        target=target.name,
        offered=rate,
        seconds=seconds,
        offered_count=count,
        successful=successful,
        failed=failed,
        unfinished=max(0, count - successful - failed),
        achieved=_achieved(successful, count, [t.done for t in times], rate),
        retransmissions=sipp.counter(stats, "Retransmissions"),
        wall=round(measured.wall, 3),
        server_cpu=round(measured.server_cpu, 3),
        server_cpu_after=round(after, 3),
        server_kernel_cpu=round(measured.server_kernel_cpu, 3),
        sipp_cpu=round(sipp_cpu, 3),
        db_cpu=None if measured.db_cpu is None else round(measured.db_cpu, 3),
        others_cpu=round(measured.others_cpu, 3),
        steal=round(measured.steal, 3),
        memory_bytes=memory,
        udp_drops=measured.drops,
        latency_100=Latency.of([t.trying for t in times]),
        latency_180=Latency.of([t.ringing for t in times]),
        records=records,
        rejected=sipp.counter(stats, "FailedUnexpectedMessage"),
        errors=uac.errors() if failed else "",
        notes=notes,
    )


def _wait_for(uac: sipp.Sipp, timeout: float) -> list[str]:
    """Wait for the UAC to end its calls; what went wrong, if anything."""
    status = uac.wait(timeout)
    if status is None:
        uac.quit(grace=5)
        return ["sipp UAC did not finish in time and was stopped"]
    if status not in (0, 1):  # 1: some calls failed
        return [f"sipp UAC exited with status {status}: {uac.trouble()[:300]}"]
    return []


def _uac_args(
    target: Target, load: Load, rate: float, count: int, seconds: float, bench: Bench
) -> list[str]:
    return sipp.uac_args(
        target.port,
        bench.uac_port,
        rate=rate,
        count=count,
        timeout=seconds * 2 + 60,
        service=load.service,
        injection=load.injection,
        host=load.host,
    )


def _achieved(successful: int, count: int, done: list[float], rate: float) -> float:
    """Calls completed per second: successful calls over the time in which the middle 98 % of
    them completed (stretched to 100 %), so that a few calls late from a retransmission do not
    count, and a server falling behind does."""
    if len(done) < 2 or count < 2:
        return rate if successful >= count else 0.0
    done = sorted(done)
    low, high = done[int(0.01 * (len(done) - 1))], done[int(0.99 * (len(done) - 1))]
    share = (int(0.99 * (len(done) - 1)) - int(0.01 * (len(done) - 1))) / (len(done) - 1)
    span = (high - low) / share * count / (count - 1) if share else 0.0
    return round(successful / span, 1) if span > 0 else 0.0


IDLE_SAMPLE = 2.0  # seconds the server's idle use is measured over, after the tail


def work_left(target: Target, tail: float) -> float:
    """CPU seconds the server spent in the `tail` seconds after a step, less what it uses
    idle (measured just after): the transactions of the step's last 32 s end in it, timers
    that fire at 64*T1 (RFC 3261 Timers J, L, M) and the work of dropping them."""
    if tail <= 0 or not target.alive():
        return 0.0
    started = target.cpu_seconds()
    time.sleep(tail)
    ended = target.cpu_seconds()
    time.sleep(IDLE_SAMPLE)
    idle = (target.cpu_seconds() - ended) / IDLE_SAMPLE
    return max(0.0, ended - started - idle * tail)


def wait_quiet(target: Target, at_least: float, at_most: float = 45.0) -> None:
    """Wait `at_least` seconds, then until the server uses under 5 % of a CPU (the work a step
    left behind, such as transactions ending, is done), for at most `at_most` seconds."""
    time.sleep(at_least)
    deadline = time.monotonic() + at_most - at_least
    while time.monotonic() < deadline and target.alive():
        before = target.cpu_seconds()
        time.sleep(1.0)
        if target.cpu_seconds() - before < 0.05:
            return
