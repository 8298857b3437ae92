"""Call records: a fire-and-forget batched writer, and the query that reads them back.

`CdrWriter.submit()` only appends the record to a list and wakes the writer task, so the
signaling path never waits for PostgreSQL. The task takes everything queued (up to `max_batch`)
and writes it with one binary COPY; while a batch is written, new records queue up, so the batch
size follows the load with no added delay. When the database cannot be reached the records stay
queued and the writer retries with backoff; past `max_pending` queued records the oldest are
dropped (and counted), so an outage cannot exhaust memory. A batch the database refuses (a value
it will not take) is retried record by record, and only the bad records are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from .errors import InvalidValueError, StoreClosedError
from .models import DISPOSITIONS, CallRecord

__all__ = ["CdrWriter", "CdrWriterStats", "call_notes", "get_cdr", "list_cdrs", "set_call_note"]

log = logging.getLogger(__name__)

COLUMNS = (
    "call_id",
    "caller",
    "dialed",
    "number",
    "rule",
    "route",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "disposition",
    "status",
    "reason",
    "node",
    "note",
    "ended_by",
    "queue_wait_seconds",
)

# The operator's note (`cdr_notes`, by Call-ID) comes with each record.
_SELECT = """
SELECT c.id, c.call_id, c.caller, c.dialed, c.number, c.rule, c.route,
       extract(epoch FROM c.started_at)::float8 AS started_at,
       extract(epoch FROM c.answered_at)::float8 AS answered_at,
       extract(epoch FROM c.ended_at)::float8 AS ended_at,
       c.disposition, c.status, c.reason, c.node, c.note, c.ended_by, c.queue_wait_seconds,
       n.note AS operator_note, n.operator AS note_by
FROM cdrs c LEFT JOIN cdr_notes n ON n.call_id = c.call_id
"""

MAX_NOTE = 1000

_DISPOSITIONS = frozenset(DISPOSITIONS)
# Errors that say "not now" (retry later), as opposed to "not this data" (drop it).
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)
_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
_COPY_TIMEOUT = 30.0
# How long the writer waits for more records before a COPY: one round trip (and one COPY's
# CPU on both sides) for the calls that end within it, instead of one per call.
_LINGER = 0.1


@dataclass(frozen=True, slots=True)
class CdrWriterStats:
    """Counters of the call record writer since the store was opened."""

    records: int  # records submitted
    written: int  # records committed
    batches: int  # COPY statements committed (one round trip of rows each)
    dropped: int  # records given up: refused by the database, or lost to an overflow or outage
    pending: int  # records queued now


class CdrWriter:
    """The single writer of the `cdrs` table for one store."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        max_batch: int = 5000,
        max_pending: int = 200_000,
        linger: float = _LINGER,
    ) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._linger = linger
        self._max_pending = max_pending
        self._pending: list[CallRecord] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._give_up = False  # closing: stop retrying an unreachable database
        self._submitted = 0
        self._finished = 0  # written or dropped, in submission order
        self._written = 0
        self._batches = 0
        self._dropped = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._in_flight: list[CallRecord] = []

    @property
    def stats(self) -> CdrWriterStats:
        return CdrWriterStats(
            self._submitted, self._written, self._batches, self._dropped, len(self._pending)
        )

    def start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="softswitch-cdr-writer"
            )

    def submit(self, record: CallRecord) -> None:
        """Queue `record` to be written; returns at once. Raises `InvalidValueError` for a
        record the table cannot take, `StoreClosedError` once the store is closed."""
        if self._closed:
            raise StoreClosedError("the store is closed; call record not written")
        if record.disposition not in _DISPOSITIONS:
            raise InvalidValueError(f"unknown disposition {record.disposition!r}")
        if len(self._pending) >= self._max_pending:
            del self._pending[0]
            self._drop(1, "the queue is full (is the database reachable?)")
        self._pending.append(record)
        self._submitted += 1
        self.start()
        self._wakeup.set()

    async def flush(self) -> None:
        """Return once every record submitted so far is written (or dropped)."""
        target = self._submitted
        if self._finished >= target:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self.start()
        self._wakeup.set()
        await future

    async def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop. If the database cannot be reached for `timeout`
        seconds, the records still queued are dropped (and logged)."""
        self._closed = True
        self._wakeup.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout)
            except TimeoutError:
                self._give_up = True
                self._wakeup.set()
                # A write that hangs past this is cancelled; its records count as lost.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(task, _COPY_TIMEOUT)
        lost = len(self._pending) + len(self._in_flight)
        if lost:
            self._pending.clear()
            self._in_flight = []
            self._drop(lost, "the database could not be reached before shutdown")
        self._resolve_waiters()

    async def _run(self) -> None:
        attempt = 0
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            if self._linger and self._lingering():
                await asyncio.sleep(self._linger)
            while self._pending:
                batch = self._in_flight = self._pending[: self._max_batch]
                del self._pending[: len(batch)]
                unwritten = await self._write(batch)
                self._in_flight = []
                if unwritten:  # the database is unreachable: keep them, retry later
                    self._pending[:0] = unwritten
                    if self._give_up:
                        return
                    delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                    attempt += 1
                    log.warning(
                        "%d call records not written yet; retrying in %.1f s",
                        len(self._pending),
                        delay,
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._until_given_up(), delay)
                    continue
                attempt = 0
                self._resolve_waiters()
                if self._lingering():
                    # what came in while the batch was written waits for the rest, as the
                    # first records did: else a COPY of one to four records follows each
                    # batch (seen at 500 calls/s), each a round trip of its own
                    break
            if self._closed:
                return

    def _lingering(self) -> bool:
        """Worth waiting for more records: nobody waits for these, and the batch is not full."""
        return not (self._closed or self._waiters) and len(self._pending) < self._max_batch

    async def _until_given_up(self) -> None:
        while not self._give_up:
            await self._wakeup.wait()
            self._wakeup.clear()
        self._wakeup.set()  # let the run loop see whatever woke it too

    async def _write(self, batch: list[CallRecord]) -> list[CallRecord]:
        """Write `batch`; return the records not written because the database is unreachable.
        A refused batch is written record by record; the records refused are dropped."""
        try:
            await self._copy(batch)
        except _UNAVAILABLE as exc:
            log.warning("call records not written: %s", _first_line(exc))
            return batch
        except Exception as exc:
            if len(batch) == 1:
                self._drop(1, f"call {batch[0].call_id} refused: {_first_line(exc)}")
                return []
            log.info("call record batch of %d refused (%s); writing one by one", len(batch), exc)
            for index, record in enumerate(batch):
                unwritten = await self._write([record])
                if unwritten:
                    return batch[index:]
            return []
        self._written += len(batch)
        self._finished += len(batch)
        return []

    async def _copy(self, batch: list[CallRecord]) -> None:
        rows = [_row(record) for record in batch]
        async with self._pool.acquire(timeout=_COPY_TIMEOUT) as conn:
            await conn.copy_records_to_table(
                "cdrs", records=rows, columns=COLUMNS, timeout=_COPY_TIMEOUT
            )
        self._batches += 1

    def _drop(self, count: int, why: str) -> None:
        self._dropped += count
        self._finished += count
        log.error("%d call record%s dropped: %s", count, "" if count == 1 else "s", why)

    def _resolve_waiters(self) -> None:
        if not self._waiters:
            return
        waiting = []
        for target, future in self._waiters:
            if target > self._finished:
                waiting.append((target, future))
            elif not future.done():
                future.set_result(None)
        self._waiters = waiting


async def list_cdrs(
    pool: asyncpg.Pool,
    *,
    since: float | None = None,
    line: str | None = None,
    disposition: str | None = None,
    limit: int = 100,
) -> list[CallRecord]:
    """The newest `limit` records, newest first, filtered by start time, line (calling or
    called) and disposition."""
    if disposition is not None and disposition not in _DISPOSITIONS:
        raise InvalidValueError(
            f"unknown disposition {disposition!r} (one of {', '.join(DISPOSITIONS)})"
        )
    if limit < 1:
        raise InvalidValueError("limit must be at least 1")
    where: list[str] = []
    args: list[object] = []
    if since is not None:
        args.append(since)
        where.append(f"c.started_at >= to_timestamp(${len(args)}::float8)")
    if line is not None:
        args.append(line)
        where.append(f"(c.caller = ${len(args)} OR c.number = ${len(args)})")
    if disposition is not None:
        args.append(disposition)
        where.append(f"c.disposition = ${len(args)}")
    args.append(limit)
    query = _SELECT
    if where:
        query += "WHERE " + " AND ".join(where) + "\n"
    query += f"ORDER BY c.started_at DESC, c.id DESC LIMIT ${len(args)}"
    rows = await pool.fetch(query, *args)
    return [CallRecord(**dict(row.items())) for row in rows]


async def get_cdr(pool: asyncpg.Pool, key: int | str) -> list[CallRecord]:
    """The record with id `key` (an int), or the records of SIP Call-ID `key` (a str), oldest
    first: a Call-ID can have more than one (a call routed twice)."""
    if isinstance(key, int):
        rows = await pool.fetch(_SELECT + "WHERE c.id = $1", key)
    else:
        rows = await pool.fetch(_SELECT + "WHERE c.call_id = $1 ORDER BY c.started_at, c.id", key)
    return [CallRecord(**dict(row.items())) for row in rows]


async def set_call_note(pool: asyncpg.Pool, call_id: str, operator: str, note: str) -> None:
    """Keep the operator's note on call `call_id` (whether or not its record is written yet);
    an empty note removes it."""
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidValueError(f"a note is at most {MAX_NOTE} characters")
    if not note:
        await pool.execute("DELETE FROM cdr_notes WHERE call_id = $1", call_id)
        return
    await pool.execute(
        """
        INSERT INTO cdr_notes (call_id, operator, note) VALUES ($1, $2, $3)
        ON CONFLICT (call_id) DO UPDATE
            SET operator = EXCLUDED.operator, note = EXCLUDED.note, updated_at = now()
        """,
        call_id,
        operator,
        note,
    )


async def call_notes(pool: asyncpg.Pool, call_ids: list[str]) -> dict[str, str]:
    """The operators' notes of these calls, by Call-ID (calls with none are left out)."""
    if not call_ids:
        return {}
    rows = await pool.fetch(
        "SELECT call_id, note FROM cdr_notes WHERE call_id = ANY($1::text[])", call_ids
    )
    return {row["call_id"]: row["note"] for row in rows}


def _row(record: CallRecord) -> tuple[object, ...]:
    return (
        record.call_id,
        record.caller,
        record.dialed,
        record.number,
        record.rule,
        record.route,
        _timestamp(record.started_at),
        _timestamp(record.answered_at),
        _timestamp(record.ended_at),
        record.duration_seconds,
        record.disposition,
        record.status,
        record.reason,
        record.node,
        record.note,
        record.ended_by,
        record.queue_wait_seconds,
    )


def _timestamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
