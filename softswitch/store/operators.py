"""Operators: their accounts and their positions (the `operators` table).

Passwords are never seen here: the table keeps an argon2 hash, made and checked in Python
(`softswitch.queue.accounts`). A position changes with a guarded UPDATE (`WHERE position =
the state the caller saw`), so two nodes changing one position at once cannot both win.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from .errors import DuplicateOperatorError, UnknownLineError, UnknownOperatorError

__all__ = [
    "OperatorRow",
    "PositionChange",
    "add",
    "get",
    "list_all",
    "remove",
    "set_password",
    "update_position",
]

COLUMNS = """
    login, display_name, password_hash, line_number, queues, position, position_reason,
    extract(epoch FROM position_since)::float8 AS position_since,
    extract(epoch FROM idle_since)::float8 AS idle_since,
    extract(epoch FROM wrap_up_until)::float8 AS wrap_up_until,
    extract(epoch FROM created_at)::float8 AS created_at, revision
"""

_INSERT = f"""
INSERT INTO operators (login, display_name, password_hash, line_number, queues)
VALUES ($1, $2, $3, $4, $5)
RETURNING {COLUMNS}
"""

_UPDATE_POSITION = f"""
UPDATE operators SET
    position = $3, position_reason = $4, position_since = to_timestamp($5::float8),
    idle_since = to_timestamp($6::float8), wrap_up_until = to_timestamp($7::float8),
    revision = revision + 1
WHERE login = $1 AND position = $2
RETURNING {COLUMNS}
"""

# Used inside the take transaction of `queue_calls.take`.
UPDATE_POSITION = _UPDATE_POSITION


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorRow:
    """An operator (a row of `operators`). Times are epoch seconds."""

    login: str
    display_name: str | None
    password_hash: str = field(repr=False)
    line_number: str
    queues: tuple[str, ...]
    position: str
    position_reason: str | None
    position_since: float
    idle_since: float | None
    wrap_up_until: float | None
    created_at: float
    revision: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChange:
    """Set an operator's position, if it is still `expected`."""

    login: str
    expected: str
    position: str
    reason: str | None
    since: float
    idle_since: float | None
    wrap_up_until: float | None

    def arguments(self) -> tuple[object, ...]:
        return (
            self.login,
            self.expected,
            self.position,
            self.reason,
            self.since,
            self.idle_since,
            self.wrap_up_until,
        )


async def add(
    pool: asyncpg.Pool,
    login: str,
    display_name: str | None,
    password_hash: str,
    line_number: str,
    queues: Sequence[str],
) -> OperatorRow:
    try:
        row = await pool.fetchrow(
            _INSERT, login, display_name, password_hash, line_number, list(queues)
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateOperatorError(login) from exc
    except asyncpg.ForeignKeyViolationError as exc:
        raise UnknownLineError(line_number) from exc
    assert row is not None
    return operator(row)


async def get(pool: asyncpg.Pool, login: str) -> OperatorRow | None:
    row = await pool.fetchrow(f"SELECT {COLUMNS} FROM operators WHERE login = $1", login)
    return None if row is None else operator(row)


async def list_all(pool: asyncpg.Pool) -> list[OperatorRow]:
    rows = await pool.fetch(f"SELECT {COLUMNS} FROM operators ORDER BY login")
    return [operator(row) for row in rows]


async def remove(pool: asyncpg.Pool, login: str) -> None:
    row = await pool.fetchrow("DELETE FROM operators WHERE login = $1 RETURNING login", login)
    if row is None:
        raise UnknownOperatorError(login)


async def set_password(pool: asyncpg.Pool, login: str, password_hash: str) -> None:
    row = await pool.fetchrow(
        """
        UPDATE operators SET password_hash = $2, revision = revision + 1
        WHERE login = $1 RETURNING login
        """,
        login,
        password_hash,
    )
    if row is None:
        raise UnknownOperatorError(login)


async def update_position(pool: asyncpg.Pool, change: PositionChange) -> OperatorRow | None:
    """The operator after `change`, or None if its position was no longer `change.expected`
    (or the operator is gone)."""
    row = await pool.fetchrow(_UPDATE_POSITION, *change.arguments())
    return None if row is None else operator(row)


def operator(row: asyncpg.Record) -> OperatorRow:
    values = dict(row.items())
    values["queues"] = tuple(values["queues"])
    return OperatorRow(**values)
