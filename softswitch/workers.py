"""More than one core: `softswitch serve --workers N` runs N worker processes, each a node.

Python runs one core per process, so a server with N cores runs N workers. Every worker
listens on the SIP port (SO_REUSEPORT): the kernel spreads new requests over them by source
address, so a phone's retransmissions and its CANCEL reach the worker that has its INVITE.
Worker i also listens on the SIP port + i, and puts that port in the Via and Record-Route it
adds: responses and requests inside its dialogs come back to it, with no hand-off between
processes. Each worker is a node of its own (the node name + `-i`): bindings, held callers and
call records say which; what they share lives in PostgreSQL and reaches the others by NOTIFY,
as between machines. Worker 1 serves the operator console.

This process prepares the database (embedded server, migrations, the demo network), starts
the workers, starts again one that dies (its held callers are then answered as after any
restart of a node), and stops them all on SIGINT or SIGTERM. Callers held by nodes that no
longer run (the node run alone before, or workers above N) are answered by worker 1
(softswitch/recovery.py).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from typing import Any

from .config import ConfigError, Settings, configure_logging, resolve_database_url
from .demo import ensure_demo
from .store import Store

log = logging.getLogger(__name__)

RESTART_DELAY = 5.0  # before starting again a worker that died this soon after its start
GIVE_UP_AFTER = 3  # quick deaths in a row: the worker cannot start (a port taken, say)
STOP_TIMEOUT = 15.0  # for a worker to stop by itself before it is killed


def run_workers(settings: Settings, *, demo: bool = False) -> int:
    if settings.sip_port == 0:
        raise ConfigError("--workers needs a fixed SIP port (the workers share it)")
    if settings.sip_port + settings.workers > 65535:
        raise ConfigError(f"the SIP ports {settings.sip_port} + 1..{settings.workers} must exist")
    database_url = resolve_database_url(settings)
    for line in asyncio.run(_prepare(settings, database_url, demo)):
        print(line, flush=True)
    values = settings.model_dump() | {"database_url": database_url, "workers": 1}
    pool = WorkerPool(settings, values)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    pool.start()
    print(f"{settings.workers} workers on port {settings.sip_port}", flush=True)
    failing: int | None = None
    while failing is None and not stopping.wait(0.5):
        failing = pool.start_again_the_dead()
    print("stopping", flush=True)
    pool.stop()
    if failing is not None:
        raise WorkerError(f"worker {failing} failed {GIVE_UP_AFTER} times as it started")
    return 0


class WorkerError(ConfigError):
    """A worker cannot run; the message is one line (its own error is in the log above)."""


async def _prepare(settings: Settings, database_url: str, demo: bool) -> list[str]:
    """Migrate once, here, rather than N times at once in the workers."""
    store = await Store.open(database_url)
    try:
        await store.migrate()
        return await ensure_demo(store, settings, settings.sip_port) if demo else []
    finally:
        await store.close()


class WorkerPool:
    """The worker processes, started with `spawn` (a fresh interpreter: no event loop, socket
    or database connection inherited)."""

    def __init__(self, settings: Settings, values: dict[str, Any]) -> None:
        self.settings = settings
        self._values = values
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, tuple[BaseProcess, float]] = {}  # index: (process, started)
        self._not_before: dict[int, float] = {}
        self._quick_deaths: dict[int, int] = {}

    def start(self) -> None:
        for index in range(1, self.settings.workers + 1):
            self._start(index)

    def _start(self, index: int) -> None:
        settings = self.settings
        values = self._values | {
            "node": f"{settings.node}-{index}",
            "sip_port": settings.sip_port + index,
            "http_port": settings.http_port if index == 1 else None,
        }
        process = self._context.Process(
            target=_worker,
            args=(values, settings.sip_port, index, settings.workers),
            name=f"softswitch worker {index}",
        )
        process.start()
        self._workers[index] = (process, time.monotonic())

    def start_again_the_dead(self) -> int | None:
        """Start again the workers that ended; the index of one that keeps dying as it
        starts, to give up on."""
        now = time.monotonic()
        for index, (process, started) in list(self._workers.items()):
            if process.is_alive():
                continue
            if index not in self._not_before:
                quick = now - started < RESTART_DELAY
                deaths = self._quick_deaths.get(index, 0) + 1 if quick else 0
                self._quick_deaths[index] = deaths
                if deaths >= GIVE_UP_AFTER:
                    return index
                log.warning(
                    "worker %d (pid %s) ended with exit code %s; starting it again",
                    index,
                    process.pid,
                    process.exitcode,
                )
                self._not_before[index] = now + (RESTART_DELAY if quick else 0.0)
            if now >= self._not_before[index]:
                del self._not_before[index]
                self._start(index)
        return None

    def stop(self) -> None:
        """SIGTERM to every worker (each stops as a node does), SIGKILL to any still up."""
        for process, _ in self._workers.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for index, (process, _) in self._workers.items():
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.warning("worker %d (pid %s) did not stop; killing it", index, process.pid)
                process.kill()
                process.join()


def _worker(values: dict[str, Any], shared_port: int, index: int, count: int) -> None:
    """A worker process: one node, on its own port and the shared one."""
    from .server import install_event_loop_policy, serve

    settings = Settings(**values)
    configure_logging(settings)
    install_event_loop_policy()
    name = f"worker {index} (pid {os.getpid()})"
    workers = range(shared_port + 1, shared_port + 1 + count)
    siblings = frozenset(port for port in workers if port != settings.sip_port)
    try:
        asyncio.run(
            serve(
                settings,
                shared_port=shared_port,
                siblings=siblings,
                worker=(index, count),
                name=name,
            )
        )
    except Exception as exc:  # one line, as the command reports its errors
        log.error("%s: %s", name, " ".join(str(exc).split()) or type(exc).__name__)
        sys.exit(1)
