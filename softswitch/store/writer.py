"""Group commit for bindings: concurrent writes share one transaction.

Callers queue a change and wait on a future. One background task takes everything queued,
collapses it to the final state per (line, contact), writes it in one transaction and resolves
every caller's future once it is committed. While a batch commits, new changes queue up, so the
batch size follows the load with no added delay. If a batch is refused (a row the database
will not take: the line was removed meanwhile, a value out of range), its changes are retried
one by one, so one bad change fails only its own caller.

The upserts of a batch go as one `INSERT ... SELECT` statement: from a VALUES list of scalar
parameters for a batch of up to 32 rows, else from `unnest` of one array per column (which
measured about twice as fast as `executemany` of the same rows). A batch of upserts alone is that
one statement, atomic by itself, with no BEGIN and COMMIT around it; and the writer keeps its
connection rather than handing it back to the pool after each batch, which would reset it with
one more round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from .errors import (
    DatabaseUnavailableError,
    InvalidValueError,
    StoreClosedError,
    StoreError,
    UnknownLineError,
)
from .models import Binding

__all__ = ["BindingWriter", "WriterStats"]

log = logging.getLogger(__name__)

_CLEAR = "DELETE FROM bindings WHERE line_number = ANY($1::text[])"

_REMOVE = """
DELETE FROM bindings AS b
USING unnest($1::text[], $2::text[]) AS gone (line_number, contact)
WHERE b.line_number = gone.line_number AND b.contact = gone.contact
"""

# The columns a row of the upsert passes, with their types. A path goes as a JSON array: an
# array of arrays cannot be unnested.
_UPSERT_COLUMNS = (
    ("line_number", "text"),
    ("contact", "text"),
    ("expires_at", "float8"),
    ("q", "real"),
    ("call_id", "text"),
    ("cseq", "int"),
    ("source_transport", "text"),
    ("source_host", "text"),
    ("source_port", "int"),
    ("local_port", "int"),
    ("instance_id", "text"),
    ("reg_id", "int"),
    ("user_agent", "text"),
    ("path", "text"),
    ("node", "text"),
)
_UPSERT_NAMES = ", ".join(name for name, _ in _UPSERT_COLUMNS)

_UPSERT_INTO = """
INSERT INTO bindings (
    line_number, contact, expires_at, q, call_id, cseq, source_transport, source_host,
    source_port, local_port, instance_id, reg_id, user_agent, path, node, updated_at
)
SELECT
    u.line_number, u.contact, to_timestamp(u.expires_at), u.q, u.call_id, u.cseq,
    u.source_transport, u.source_host, u.source_port, u.local_port, u.instance_id, u.reg_id,
    u.user_agent,
    CASE WHEN u.path IS NULL THEN '{}'::text[]
         ELSE ARRAY(SELECT jsonb_array_elements_text(u.path::jsonb)) END,
    u.node, now()
"""

_UPSERT_CONFLICT = """
ON CONFLICT (line_number, contact) DO UPDATE SET
    expires_at = EXCLUDED.expires_at,
    q = EXCLUDED.q,
    call_id = EXCLUDED.call_id,
    cseq = EXCLUDED.cseq,
    source_transport = EXCLUDED.source_transport,
    source_host = EXCLUDED.source_host,
    source_port = EXCLUDED.source_port,
    local_port = EXCLUDED.local_port,
    instance_id = EXCLUDED.instance_id,
    reg_id = EXCLUDED.reg_id,
    user_agent = EXCLUDED.user_agent,
    path = EXCLUDED.path,
    node = EXCLUDED.node,
    updated_at = now()
"""

_UPSERT_UNNEST = (
    _UPSERT_INTO
    + "FROM unnest("
    + ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(_UPSERT_COLUMNS, 1))
    + f") AS u ({_UPSERT_NAMES})"
    + _UPSERT_CONFLICT
)

# Batches up to this many rows pass each value as a parameter of its own: asyncpg encodes a
# scalar for a fraction of what an element of an array costs it (it checks every element
# against the collection ABCs), which halved the client's CPU per row in batches of 4 to 16.
# Each size is a statement of its own on the writer's connection; 32 rows make about 7 KB of
# text, under the 15 KB above which asyncpg would prepare it again for every batch.
VALUES_ROWS = 32


def upsert_statement(rows: int) -> str:
    """The upsert of a batch of `rows` rows (`upsert_arguments` gives its arguments)."""
    return _UPSERT_UNNEST if rows > VALUES_ROWS else _upsert_values(rows)


@functools.lru_cache(maxsize=VALUES_ROWS)
def _upsert_values(rows: int) -> str:
    width = len(_UPSERT_COLUMNS)
    values = ",\n    ".join(
        "("
        + ", ".join(f"${row * width + i}::{kind}" for i, (_, kind) in enumerate(_UPSERT_COLUMNS, 1))
        + ")"
        for row in range(rows)
    )
    return f"{_UPSERT_INTO}FROM (VALUES\n    {values}\n) AS u ({_UPSERT_NAMES}){_UPSERT_CONFLICT}"


# Errors that say "this data is refused", as opposed to "the database is not there".
# ValueError covers asyncpg's client-side encoding errors ("invalid input for query argument").
_REFUSED = (asyncpg.IntegrityConstraintViolationError, asyncpg.DataError, ValueError)
_UNAVAILABLE = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of the binding writer since the store was opened."""

    calls: int  # changes submitted
    transactions: int  # transactions committed, batches and single retries alike
    retries: int  # changes re-run alone after their batch was refused
    failures: int  # changes whose caller got an error


@dataclass(slots=True)
class _Change:
    line: str
    upserts: tuple[Binding, ...]
    removals: tuple[str, ...]
    remove_all: bool
    future: asyncio.Future[None]


class BindingWriter:
    """The single writer of the `bindings` table for one store."""

    def __init__(self, pool: asyncpg.Pool, *, max_batch: int = 2000) -> None:
        self._pool = pool
        self._max_batch = max_batch
        self._pending: list[_Change] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None  # held from the pool between batches
        self._closed = False
        self._calls = 0
        self._transactions = 0
        self._retries = 0
        self._failures = 0

    @property
    def stats(self) -> WriterStats:
        return WriterStats(self._calls, self._transactions, self._retries, self._failures)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="softswitch-binding-writer"
            )

    async def write(
        self,
        line: str,
        upserts: Sequence[Binding] = (),
        removals: Sequence[str] = (),
        *,
        remove_all: bool = False,
    ) -> None:
        """Queue a change and return once it is committed.

        Cancelling the caller does not withdraw a change that is already queued.
        """
        await self.submit(line, upserts, removals, remove_all=remove_all)

    def submit(
        self,
        line: str,
        upserts: Sequence[Binding] = (),
        removals: Sequence[str] = (),
        *,
        remove_all: bool = False,
    ) -> asyncio.Future[None]:
        """Queue a change: the future is done once it is committed, or has the StoreError
        that kept it out. Raises StoreError at once for a change that cannot be queued."""
        if self._closed:
            raise StoreClosedError("the store is closed")
        upserts = tuple(upserts)
        removals = tuple(removals)
        for binding in upserts:
            if binding.line_number != line:
                raise InvalidValueError(
                    f"binding for line {binding.line_number} written under line {line}"
                )
        overlap = {binding.contact for binding in upserts}.intersection(removals)
        if overlap:
            raise InvalidValueError(f"contact both added and removed: {sorted(overlap)[0]}")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not upserts and not removals and not remove_all:
            future.set_result(None)
            return future
        self.start()
        self._pending.append(_Change(line, upserts, removals, remove_all, future))
        self._calls += 1
        self._wakeup.set()
        return future

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closed = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._release()

    async def _held_connection(self) -> asyncpg.Connection:
        """The connection the writer keeps, taken from the pool again once the last one has
        closed (the pool then detaches it from its proxy, which says so with InterfaceError)."""
        conn = self._connection
        if conn is not None:
            with contextlib.suppress(asyncpg.InterfaceError):
                if not conn.is_closed():
                    return conn
            await self._release()
        conn = self._connection = await self._pool.acquire()
        return conn

    async def _release(self) -> None:
        """Hand the held connection back to the pool (which closes a broken one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await self._pool.release(connection)
            except Exception as exc:  # a connection that broke: the pool has let it go
                log.debug("binding writer's connection not released cleanly: %s", exc)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                await self._commit(batch)
            if self._closed:
                return

    async def _commit(self, batch: list[_Change]) -> None:
        try:
            await self._execute(batch)
        except _REFUSED as exc:
            if len(batch) == 1:
                self._fail(batch[0], _translate(batch[0], exc))
                return
            log.info("binding batch of %d refused (%s); retrying one by one", len(batch), exc)
            await self._retry_singly(batch)
            return
        except _UNAVAILABLE as exc:
            await self._release()
            self._fail_all(batch, DatabaseUnavailableError(f"bindings not written: {exc}"))
            return
        except Exception as exc:  # keep the writer alive; the callers get the error
            log.exception("binding batch of %d failed", len(batch))
            self._fail_all(batch, StoreError(f"bindings not written: {exc}"))
            return
        for change in batch:
            if not change.future.done():
                change.future.set_result(None)

    async def _retry_singly(self, batch: list[_Change]) -> None:
        for change in batch:
            self._retries += 1
            try:
                await self._execute([change])
            except _REFUSED as exc:
                self._fail(change, _translate(change, exc))
            except _UNAVAILABLE as exc:
                await self._release()
                self._fail(change, DatabaseUnavailableError(f"bindings not written: {exc}"))
            except Exception as exc:  # keep the writer alive; the caller gets the error
                log.exception("binding change for line %s failed", change.line)
                self._fail(change, StoreError(f"bindings not written: {exc}"))
            else:
                if not change.future.done():
                    change.future.set_result(None)

    async def _execute(self, batch: list[_Change]) -> None:
        clears, removals, upserts = _collapse(batch)
        conn = await self._held_connection()
        if not clears and not removals:
            await conn.execute(upsert_statement(len(upserts)), *upsert_arguments(upserts))
        else:
            async with conn.transaction():
                if clears:
                    await conn.execute(_CLEAR, clears)
                if removals:
                    await conn.execute(
                        _REMOVE, [line for line, _ in removals], [c for _, c in removals]
                    )
                if upserts:
                    await conn.execute(upsert_statement(len(upserts)), *upsert_arguments(upserts))
        self._transactions += 1

    def _fail(self, change: _Change, exc: Exception) -> None:
        self._failures += 1
        if not change.future.done():
            change.future.set_exception(exc)

    def _fail_all(self, batch: list[_Change], exc: Exception) -> None:
        for change in batch:
            self._fail(change, exc)


def _collapse(
    batch: list[_Change],
) -> tuple[list[str], list[tuple[str, str]], list[Binding]]:
    """Reduce a batch, in order, to lines to clear, then contacts to delete, then rows to upsert.

    Clears run first, so an upsert that came after a clear of its line survives and one that came
    before is dropped; the deletes and upserts that remain touch distinct keys.
    """
    clears: list[str] = []
    final: dict[tuple[str, str], Binding | None] = {}
    for change in batch:
        if change.remove_all:
            if change.line not in clears:
                clears.append(change.line)
            for key in [key for key in final if key[0] == change.line]:
                del final[key]
        for contact in change.removals:
            final[(change.line, contact)] = None
        for binding in change.upserts:
            final[(change.line, binding.contact)] = binding
    removals = [key for key, binding in final.items() if binding is None]
    upserts = [binding for binding in final.values() if binding is not None]
    return clears, removals, upserts


def upsert_arguments(upserts: Sequence[Binding]) -> list[object]:
    """The arguments of `upsert_statement(len(upserts))`: the rows' values one after another,
    or for a batch past VALUES_ROWS one list per column."""
    if len(upserts) > VALUES_ROWS:
        return [list(column) for column in zip(*map(_upsert_row, upserts), strict=True)]
    return [value for binding in upserts for value in _upsert_row(binding)]


def _upsert_row(b: Binding) -> tuple[object, ...]:
    return (
        b.line_number,
        b.contact,
        b.expires_at,
        b.q,
        b.call_id,
        b.cseq,
        b.source_transport,
        b.source_host,
        b.source_port,
        b.local_port,
        b.instance_id,
        b.reg_id,
        b.user_agent,
        json.dumps(b.path) if b.path else None,
        b.node,
    )


def _translate(change: _Change, exc: Exception) -> StoreError:
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return UnknownLineError(change.line)
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InvalidValueError(f"bindings of line {change.line} refused: {message}")
