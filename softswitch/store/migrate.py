"""The migrations runner: numbered `NNNN_name.sql` files, applied once each, in order.

Each file runs in its own transaction and is recorded in `schema_migrations`. Runners on
several processes or nodes are serialized by a session-level advisory lock, so starting many
nodes at once against an empty database is safe.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from .errors import MigrationError

__all__ = ["MIGRATIONS_DIR", "Migration", "apply_migrations", "discover_migrations"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

# pg_advisory_lock key shared by every runner: the ASCII bytes of "sswmigr".
ADVISORY_LOCK_KEY = int.from_bytes(b"sswmigr", "big")

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str = field(default="", repr=False)
    checksum: str = ""

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def discover_migrations(directory: Path | None = None) -> list[Migration]:
    """The migration files of `directory`, sorted by version."""
    directory = directory or MIGRATIONS_DIR
    if not directory.is_dir():
        raise MigrationError(f"migrations folder {directory} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name} is not named NNNN_name.sql")
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"migrations {found[version].label} and {path.name} share version {version}"
            )
        data = path.read_bytes()
        found[version] = Migration(
            version=version,
            name=match["name"],
            sql=data.decode("utf-8"),
            checksum=hashlib.sha256(data).hexdigest(),
        )
    return [found[version] for version in sorted(found)]


async def apply_migrations(
    conn: asyncpg.Connection,
    migrations: Sequence[Migration] | None = None,
) -> list[Migration]:
    """Apply the migrations missing from the database; return those applied, in order."""
    if migrations is None:
        migrations = discover_migrations()
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        return await _apply_locked(conn, migrations)
    finally:
        if not conn.is_closed():
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
                # The lock goes with the session if this fails; nothing is left held.
                log.warning("could not release the migrations lock: %s", exc)


async def _apply_locked(
    conn: asyncpg.Connection, migrations: Sequence[Migration]
) -> list[Migration]:
    await conn.execute(_CREATE_TABLE)
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    applied = {row["version"]: row for row in rows}
    known = {migration.version for migration in migrations}

    for migration in migrations:
        row = applied.get(migration.version)
        if row is not None and row["checksum"] != migration.checksum:
            log.warning(
                "migration %s was changed after it was applied; the database keeps the old one",
                migration.label,
            )
    newer = sorted(set(applied) - known)
    if newer:
        log.warning(
            "the database has migrations this version does not know: %s",
            ", ".join(f"{applied[v]['version']:04d}_{applied[v]['name']}" for v in newer),
        )

    done: list[Migration] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        try:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
        except asyncpg.PostgresError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise MigrationError(f"migration {migration.label} failed: {first_line}") from exc
        log.info("applied migration %s", migration.label)
        done.append(migration)
    return done
