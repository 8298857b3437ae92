"""Dialplan versions: the files of every dialplan applied, and which one is active.

A version is never changed once written. The active version is the single row of
`dialplan_active`; switching it is one UPDATE, and its trigger tells every node (channel
`softswitch_dialplan`, payload the version number) once the switch is committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import asyncpg

from .errors import InvalidValueError, UnknownDialplanVersionError
from .models import DialplanVersion

__all__ = [
    "activate",
    "active",
    "checksum",
    "list_versions",
    "save",
    "sources_of",
]

_INSERT = """
INSERT INTO dialplan_versions (comment, sources, checksum)
VALUES ($1, $2::jsonb, $3)
RETURNING version
"""

# Switches to a version that exists, or changes nothing (and returns no row).
_ACTIVATE = """
UPDATE dialplan_active AS a SET version = v.version, activated_at = now()
FROM dialplan_versions AS v
WHERE v.version = $1
RETURNING a.version
"""

_ACTIVE = """
SELECT v.version, v.sources::text AS sources
FROM dialplan_active AS a JOIN dialplan_versions AS v USING (version)
"""

_SOURCES = "SELECT sources::text AS sources FROM dialplan_versions WHERE version = $1"

_LIST = """
SELECT v.version, extract(epoch FROM v.created_at)::float8 AS created_at, v.comment,
       v.checksum, ARRAY(SELECT jsonb_object_keys(v.sources) ORDER BY 1) AS files,
       v.version IS NOT DISTINCT FROM a.version AS active
FROM dialplan_versions AS v CROSS JOIN dialplan_active AS a
ORDER BY v.version
"""


def checksum(sources: Mapping[str, str]) -> str:
    """sha256 of the files, independent of their order: equal for equal dialplans."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        for part in (name, sources[name]):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


async def save(pool: asyncpg.Pool, sources: Mapping[str, str], comment: str | None) -> int:
    """Store a new version and make it the active one, in one transaction."""
    _check_sources(sources)
    document = json.dumps(dict(sources), ensure_ascii=False)
    async with pool.acquire() as conn, conn.transaction():
        version: int = await conn.fetchval(_INSERT, comment, document, checksum(sources))
        await conn.execute(_ACTIVATE, version)
    return version


async def activate(pool: asyncpg.Pool, version: int) -> None:
    row = await pool.fetchrow(_ACTIVATE, version)
    if row is None:
        raise UnknownDialplanVersionError(version)


async def active(pool: asyncpg.Pool) -> tuple[int, dict[str, str]] | None:
    row = await pool.fetchrow(_ACTIVE)
    if row is None:
        return None
    return row["version"], json.loads(row["sources"])


async def sources_of(pool: asyncpg.Pool, version: int) -> dict[str, str]:
    row = await pool.fetchrow(_SOURCES, version)
    if row is None:
        raise UnknownDialplanVersionError(version)
    result: dict[str, str] = json.loads(row["sources"])
    return result


async def list_versions(pool: asyncpg.Pool) -> list[DialplanVersion]:
    rows = await pool.fetch(_LIST)
    return [
        DialplanVersion(
            version=row["version"],
            created_at=row["created_at"],
            comment=row["comment"],
            checksum=row["checksum"],
            files=tuple(row["files"]),
            active=row["active"],
        )
        for row in rows
    ]


def _check_sources(sources: Mapping[str, str]) -> None:
    if not sources:
        raise InvalidValueError("a dialplan needs at least one file")
    for name, text in sources.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidValueError("a dialplan file needs a name")
        if not isinstance(text, str):
            raise InvalidValueError(f"dialplan file {name}: the text must be a string")
        if "\x00" in name or "\x00" in text:
            raise InvalidValueError(f"dialplan file {name}: NUL characters are not allowed")
