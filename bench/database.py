"""A clean PostgreSQL for one benchmark: a new database on `$DATABASE_URL`'s server, or an
embedded server (pgserver) in a temporary folder, removed afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from . import procs


@dataclass
class Database:
    """Where the softswitch keeps its rows during a benchmark."""

    url: str
    postmaster: int | None = None  # the embedded server's PID; None for an external server
    where: str = "external"
    _cleanup: list[Any] = field(default_factory=list, repr=False)

    def place(self, cpus: frozenset[int] | None) -> str:
        """Pin the embedded server (and the backends it forks later) to `cpus`; say where
        PostgreSQL runs."""
        if self.postmaster is None:
            self.where = "external server ($DATABASE_URL), not pinned"
            return self.where
        pids = [self.postmaster, *procs.children(self.postmaster)]
        placed = procs.pin(pids, cpus)
        on = sorted({cpu for cpus_ in placed.values() for cpu in cpus_})
        self.where = f"embedded, {len(pids)} processes on CPU {','.join(map(str, on))}"
        return self.where

    def cpu_seconds(self) -> float:
        """CPU of the embedded server and its backends (0 for an external server)."""
        if self.postmaster is None:
            return 0.0
        return procs.tree_cpu_seconds(self.postmaster)

    def count(self, query: str) -> int:
        async def run() -> int:
            conn = await asyncpg.connect(self.url)
            try:
                return int(await conn.fetchval(query))
            finally:
                await conn.close()

        return asyncio.run(run())


@contextlib.contextmanager
def fresh_database(url: str | None = None) -> Iterator[Database]:
    """A new, empty database: on the server of `url` (or `$DATABASE_URL`), else embedded."""
    server = url or os.environ.get("DATABASE_URL")
    if server:
        with _created_on(server) as created:
            yield Database(created)
        return
    folder = Path(tempfile.mkdtemp(prefix="softswitch-bench-pg-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        import pgserver

    embedded = pgserver.get_server(folder / "pgdata", cleanup_mode="delete")
    try:
        yield Database(embedded.get_uri(), postmaster=embedded.get_pid(), where="embedded")
    finally:
        embedded.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _created_on(server_url: str) -> Iterator[str]:
    name = f"bench_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
