"""Queue calls, queue settings and held INVITEs (the `queue_calls`, `queue_config` and
`held_invites` tables).

A queue call row is changed only by guarded UPDATEs: `take` claims a call with `WHERE state IN
(the states it may be taken from)`, so of two operators racing for one call exactly one gets the
row back; every other change names the revision it was computed from (`WHERE revision = $2`)
and finds no row if someone changed the call meanwhile. The triggers of the migration tell
every node about each change (channel `softswitch_queue`, payload `call:ID`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import asyncpg

from . import operators
from .errors import NodeRunningError
from .operators import OperatorRow, PositionChange

__all__ = [
    "HeldInvite",
    "HeldInviteRow",
    "QueueCallRow",
    "QueueConfigRow",
    "QueueStatsRow",
    "Taken",
    "drop_held",
    "get",
    "get_config",
    "insert",
    "keep_held",
    "list_calls",
    "list_configs",
    "list_held",
    "mark_held_answered",
    "move",
    "remove_config",
    "set_config",
    "stats_rows",
    "take",
    "update",
]

_COLUMNS = """
    id, queue, exchange, caller, caller_display, dialed, line, jack_label, priority, state,
    event, operator, offered_to, connect_to, node, call_id, hops,
    extract(epoch FROM enqueued_at)::float8 AS enqueued_at,
    extract(epoch FROM offered_at)::float8 AS offered_at,
    extract(epoch FROM taken_at)::float8 AS taken_at,
    extract(epoch FROM connected_at)::float8 AS connected_at,
    extract(epoch FROM ended_at)::float8 AS ended_at,
    outcome, note, revision
"""

_INSERT = f"""
INSERT INTO queue_calls (
    queue, exchange, caller, caller_display, dialed, line, jack_label, priority, state, event,
    operator, offered_to, connect_to, node, call_id, hops, enqueued_at, offered_at, taken_at,
    connected_at, ended_at, outcome, note
)
VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
    to_timestamp($17::float8), to_timestamp($18::float8), to_timestamp($19::float8),
    to_timestamp($20::float8), to_timestamp($21::float8), $22, $23
)
RETURNING {_COLUMNS}
"""

_UPDATE = f"""
UPDATE queue_calls SET
    state = $3, event = $4, operator = $5, offered_to = $6, connect_to = $7,
    offered_at = to_timestamp($8::float8), taken_at = to_timestamp($9::float8),
    connected_at = to_timestamp($10::float8), ended_at = to_timestamp($11::float8),
    outcome = $12, note = $13, revision = revision + 1
WHERE id = $1 AND revision = $2
RETURNING {_COLUMNS}
"""

# The claim: whoever's UPDATE commits first gets the row; the other sees the new state, which
# is no longer one of $3, and gets nothing.
_TAKE = f"""
UPDATE queue_calls SET
    state = $4, event = $5, operator = $2, offered_to = '{{}}',
    taken_at = coalesce(taken_at, to_timestamp($6::float8)), revision = revision + 1
WHERE id = $1 AND state = ANY($3::text[])
RETURNING {_COLUMNS}
"""

_STATS = """
SELECT queue, priority,
       extract(epoch FROM enqueued_at)::float8 AS enqueued_at,
       extract(epoch FROM taken_at)::float8 AS taken_at,
       extract(epoch FROM connected_at)::float8 AS connected_at,
       extract(epoch FROM ended_at)::float8 AS ended_at,
       outcome
FROM queue_calls
WHERE enqueued_at >= to_timestamp($1::float8) AND ($2::text IS NULL OR queue = $2)
ORDER BY enqueued_at, id
"""

_CONFIG_COLUMNS = """
    queue, distribution, ring_timeout, max_wait, max_length, overflow_queue, overflow_status,
    retry_after, service_level_seconds, wrap_up_seconds
"""

_CONFIG_SELECT = _CONFIG_COLUMNS + ", revision"

_SET_CONFIG = f"""
INSERT INTO queue_config ({_CONFIG_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (queue) DO UPDATE SET
    distribution = excluded.distribution, ring_timeout = excluded.ring_timeout,
    max_wait = excluded.max_wait, max_length = excluded.max_length,
    overflow_queue = excluded.overflow_queue, overflow_status = excluded.overflow_status,
    retry_after = excluded.retry_after, service_level_seconds = excluded.service_level_seconds,
    wrap_up_seconds = excluded.wrap_up_seconds, revision = queue_config.revision + 1
RETURNING {_CONFIG_SELECT}
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueCallRow:
    """A row of `queue_calls`. Times are epoch seconds; `id` and `revision` are the database's
    (ignored on insert)."""

    queue: str
    exchange: str | None
    caller: str
    caller_display: str | None
    dialed: str
    line: str | None
    jack_label: str | None
    priority: int
    state: str
    event: str
    operator: str | None
    offered_to: tuple[str, ...]
    connect_to: str | None
    node: str
    call_id: str
    hops: int
    enqueued_at: float
    offered_at: float | None
    taken_at: float | None
    connected_at: float | None
    ended_at: float | None
    outcome: str | None
    note: str | None
    id: int = 0
    revision: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStatsRow:
    """What the statistics need of one queue call."""

    queue: str
    priority: int
    enqueued_at: float
    taken_at: float | None
    connected_at: float | None
    ended_at: float | None
    outcome: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfigRow:
    """A row of `queue_config`: how one queue distributes calls and when it overflows."""

    queue: str
    distribution: str = "manual"
    ring_timeout: float = 15.0
    max_wait: float | None = None
    max_length: int | None = None
    overflow_queue: str | None = None
    overflow_status: int = 480
    retry_after: int | None = None
    service_level_seconds: float = 20.0
    wrap_up_seconds: float = 0.0
    revision: int = 0


@dataclass(frozen=True, slots=True)
class Taken:
    """What `take` found: both set when the operator got the call; `call` None when the call
    was no longer there to take; `operator` None when the operator's position had changed."""

    call: QueueCallRow | None
    operator: OperatorRow | None


async def insert(conn: asyncpg.Pool | asyncpg.Connection, row: QueueCallRow) -> QueueCallRow:
    record = await conn.fetchrow(
        _INSERT,
        row.queue,
        row.exchange,
        row.caller,
        row.caller_display,
        row.dialed,
        row.line,
        row.jack_label,
        row.priority,
        row.state,
        row.event,
        row.operator,
        list(row.offered_to),
        row.connect_to,
        row.node,
        row.call_id,
        row.hops,
        row.enqueued_at,
        row.offered_at,
        row.taken_at,
        row.connected_at,
        row.ended_at,
        row.outcome,
        row.note,
    )
    assert record is not None
    return _call(record)


async def update(
    conn: asyncpg.Pool | asyncpg.Connection, row: QueueCallRow, revision: int
) -> QueueCallRow | None:
    record = await conn.fetchrow(
        _UPDATE,
        row.id,
        revision,
        row.state,
        row.event,
        row.operator,
        list(row.offered_to),
        row.connect_to,
        row.offered_at,
        row.taken_at,
        row.connected_at,
        row.ended_at,
        row.outcome,
        row.note,
    )
    return None if record is None else _call(record)


async def take(
    pool: asyncpg.Pool,
    call_id: int,
    operator: str,
    *,
    from_states: Sequence[str],
    state: str,
    event: str,
    now: float,
    position: PositionChange,
) -> Taken:
    """Give call `call_id` to `operator` and change the operator's position, in one
    transaction; nothing changes unless both succeed."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            record = await conn.fetchrow(
                _TAKE, call_id, operator, list(from_states), state, event, now
            )
            if record is None:
                return Taken(None, None)
            busy = await conn.fetchrow(operators.UPDATE_POSITION, *position.arguments())
            if busy is None:
                raise _Rollback(Taken(_call(record), None))
            return Taken(_call(record), operators.operator(busy))
    except _Rollback as rollback:
        return rollback.result


async def move(
    pool: asyncpg.Pool, old: QueueCallRow, revision: int, new: QueueCallRow
) -> tuple[QueueCallRow, QueueCallRow] | None:
    """End `old` (if still at `revision`) and insert `new`, in one transaction."""
    async with pool.acquire() as conn, conn.transaction():
        ended = await update(conn, old, revision)
        if ended is None:
            return None
        return ended, await insert(conn, new)


async def get(pool: asyncpg.Pool, id: int) -> QueueCallRow | None:
    record = await pool.fetchrow(f"SELECT {_COLUMNS} FROM queue_calls WHERE id = $1", id)
    return None if record is None else _call(record)


async def list_calls(
    pool: asyncpg.Pool, *, queue: str | None = None, live: bool = True, limit: int = 1000
) -> list[QueueCallRow]:
    """Calls still in a queue (`live`), or the latest ones, in the order they came."""
    where = ["($1::text IS NULL OR queue = $1)"]
    if live:
        where.append("ended_at IS NULL")
    records = await pool.fetch(
        f"""
        SELECT * FROM (
            SELECT {_COLUMNS} FROM queue_calls WHERE {" AND ".join(where)}
            ORDER BY id DESC LIMIT $2
        ) AS latest ORDER BY id
        """,
        queue,
        limit,
    )
    return [_call(record) for record in records]


async def stats_rows(pool: asyncpg.Pool, queue: str | None, since: float) -> list[QueueStatsRow]:
    records = await pool.fetch(_STATS, since, queue)
    return [QueueStatsRow(**dict(record.items())) for record in records]


async def set_config(pool: asyncpg.Pool, config: QueueConfigRow) -> QueueConfigRow:
    record = await pool.fetchrow(
        _SET_CONFIG,
        config.queue,
        config.distribution,
        config.ring_timeout,
        config.max_wait,
        config.max_length,
        config.overflow_queue,
        config.overflow_status,
        config.retry_after,
        config.service_level_seconds,
        config.wrap_up_seconds,
    )
    assert record is not None
    return QueueConfigRow(**dict(record.items()))


async def get_config(pool: asyncpg.Pool, queue: str) -> QueueConfigRow | None:
    record = await pool.fetchrow(
        f"SELECT {_CONFIG_SELECT} FROM queue_config WHERE queue = $1", queue
    )
    return None if record is None else QueueConfigRow(**dict(record.items()))


async def list_configs(pool: asyncpg.Pool) -> list[QueueConfigRow]:
    records = await pool.fetch(f"SELECT {_CONFIG_SELECT} FROM queue_config ORDER BY queue")
    return [QueueConfigRow(**dict(record.items())) for record in records]


async def remove_config(pool: asyncpg.Pool, queue: str) -> bool:
    record = await pool.fetchrow("DELETE FROM queue_config WHERE queue = $1 RETURNING queue", queue)
    return record is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldLeg:
    """One leg of a held call besides the caller's, up now (the operator's, or the
    destination's once connected): what ending its dialog with a BYE needs (RFC 3261 §12)."""

    role: str  # "operator" or "destination"
    transport: str
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldInviteRow:
    """A row of `held_invites`: a caller's INVITE held by `node`, and where its responses go.
    Times are epoch seconds."""

    node: str
    call_id: str
    invite: bytes
    transport: str
    host: str
    port: int
    local_port: int
    to_tag: str
    held_at: float = 0.0  # set by the database on insert
    answered_at: float | None = None
    legs: tuple[HeldLeg, ...] = ()  # the other legs up now (`keep_legs`)


@dataclass(frozen=True, slots=True)
class HeldInvite:
    """A held INVITE and the latest queue entry of its call (None if none was written)."""

    held: HeldInviteRow
    entry: QueueCallRow | None


_HELD_COLUMNS = """
    node, call_id, invite, transport, host, port, local_port, to_tag,
    extract(epoch FROM held_at)::float8 AS held_at,
    extract(epoch FROM answered_at)::float8 AS answered_at,
    legs::text AS legs
"""

# A call held again after a restart keeps its row; the INVITE and the tag are the same.
_KEEP_HELD = """
INSERT INTO held_invites (node, call_id, invite, transport, host, port, local_port, to_tag)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (node, call_id) DO UPDATE SET
    invite = excluded.invite, transport = excluded.transport, host = excluded.host,
    port = excluded.port, local_port = excluded.local_port, to_tag = excluded.to_tag
"""


async def keep_held(pool: asyncpg.Pool, row: HeldInviteRow) -> None:
    await pool.execute(
        _KEEP_HELD,
        row.node,
        row.call_id,
        row.invite,
        row.transport,
        row.host,
        row.port,
        row.local_port,
        row.to_tag,
    )


async def mark_held_answered(pool: asyncpg.Pool, node: str, call_id: str, at: float) -> None:
    await pool.execute(
        "UPDATE held_invites SET answered_at = coalesce(answered_at, to_timestamp($3::float8))"
        " WHERE node = $1 AND call_id = $2",
        node,
        call_id,
        at,
    )


async def keep_legs(pool: asyncpg.Pool, node: str, call_id: str, legs: Sequence[HeldLeg]) -> None:
    """The other legs of a held call that are up now, replacing those kept before."""
    rows = [{**asdict(leg), "route_set": list(leg.route_set)} for leg in legs]
    await pool.execute(
        "UPDATE held_invites SET legs = $3::jsonb WHERE node = $1 AND call_id = $2",
        node,
        call_id,
        json.dumps(rows),
    )


def _legs(text: str) -> tuple[HeldLeg, ...]:
    return tuple(
        HeldLeg(**{**leg, "route_set": tuple(leg.get("route_set", ()))}) for leg in json.loads(text)
    )


async def drop_held(pool: asyncpg.Pool, node: str, call_ids: Sequence[str]) -> None:
    await pool.execute(
        "DELETE FROM held_invites WHERE node = $1 AND call_id = ANY($2::text[])",
        node,
        list(call_ids),
    )


async def list_held(pool: asyncpg.Pool, node: str) -> list[HeldInvite]:
    """The INVITEs `node` holds, oldest first, each with the latest queue entry of its call."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        held = await conn.fetch(
            f"SELECT {_HELD_COLUMNS} FROM held_invites WHERE node = $1 ORDER BY held_at, call_id",
            node,
        )
        entries = await conn.fetch(
            f"""
            SELECT DISTINCT ON (call_id) {_COLUMNS} FROM queue_calls
            WHERE node = $1 AND call_id = ANY($2::text[])
            ORDER BY call_id, id DESC
            """,
            node,
            [record["call_id"] for record in held],
        )
    latest = {record["call_id"]: _call(record) for record in entries}
    return [
        HeldInvite(
            HeldInviteRow(**{**dict(record.items()), "legs": _legs(record["legs"])}),
            latest.get(record["call_id"]),
        )
        for record in held
    ]


# A serving node holds this lock for as long as it runs (on a connection of its own,
# `announce_node`): a node whose lock can be taken has stopped, and one name runs once.
_PRESENCE_KEY = "hashtextextended('softswitch node ' || $1, 0)"
# How long a node starting waits for its name's lock: one killed a moment ago still holds it
# until PostgreSQL sees its connections close.
PRESENCE_WAIT = 5.0


async def announce_node(conn: asyncpg.Connection, node: str) -> None:
    """Hold `node`'s presence lock for as long as `conn` is open. Raises `NodeRunningError`
    if another process keeps it for `PRESENCE_WAIT` seconds."""
    deadline = time.monotonic() + PRESENCE_WAIT
    while not await conn.fetchval(f"SELECT pg_try_advisory_lock({_PRESENCE_KEY})", node):
        if time.monotonic() > deadline:
            raise NodeRunningError(node)
        await asyncio.sleep(0.1)


async def holding_nodes(pool: asyncpg.Pool) -> list[str]:
    """The nodes that hold a caller's INVITE or a live queue entry."""
    rows = await pool.fetch(
        "SELECT node FROM held_invites UNION SELECT node FROM queue_calls WHERE ended_at IS NULL"
    )
    return sorted(row["node"] for row in rows)


async def hand_over_held(pool: asyncpg.Pool, from_node: str, to_node: str) -> int | None:
    """Give `to_node` the held INVITEs and live queue entries of `from_node` when that node is
    not running; how many held INVITEs moved, or None if `from_node` runs. The presence lock,
    taken here until the commit, keeps `from_node` from starting meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval(f"SELECT pg_try_advisory_xact_lock({_PRESENCE_KEY})", from_node):
            return None
        moved = await conn.fetch(
            """
            UPDATE held_invites AS h SET node = $2
            WHERE node = $1 AND NOT EXISTS (
                SELECT 1 FROM held_invites AS o WHERE o.node = $2 AND o.call_id = h.call_id)
            RETURNING call_id
            """,
            from_node,
            to_node,
        )
        call_ids = [row["call_id"] for row in moved]
        await conn.execute(
            """
            UPDATE queue_calls SET node = $2, revision = revision + 1
            WHERE node = $1 AND (ended_at IS NULL OR call_id = ANY($3::text[]))
            """,
            from_node,
            to_node,
            call_ids,
        )
        return len(call_ids)


class _Rollback(Exception):
    """Raised inside a transaction to undo it, carrying what to return."""

    def __init__(self, result: Taken) -> None:
        super().__init__("rolled back")
        self.result = result


def _call(record: asyncpg.Record) -> QueueCallRow:
    values = dict(record.items())
    values["offered_to"] = tuple(values["offered_to"])
    return QueueCallRow(**values)
