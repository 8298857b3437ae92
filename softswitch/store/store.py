"""The store: every SQL statement the softswitch runs, behind typed methods."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from . import dialplans, operators, queue_calls
from .cdrs import CdrWriter, CdrWriterStats, call_notes, get_cdr, list_cdrs, set_call_note
from .errors import (
    DatabaseUnavailableError,
    DuplicateExchangeError,
    DuplicateLineError,
    DuplicatePrefixError,
    InvalidValueError,
    LineInUseError,
    UnknownExchangeError,
    UnknownLineError,
)
from .listener import (
    BINDINGS_CHANNEL,
    DIALPLAN_CHANNEL,
    EXCHANGES_CHANNEL,
    LINES_CHANNEL,
    QUEUE_CHANNEL,
    Callback,
    Listener,
    OnConnect,
    Resync,
)
from .migrate import Migration, apply_migrations
from .models import Binding, CallRecord, DialplanVersion, Exchange, ExchangeMode, Line
from .operators import OperatorRow, PositionChange
from .queue_calls import (
    HeldInvite,
    HeldInviteRow,
    HeldLeg,
    QueueCallRow,
    QueueConfigRow,
    QueueStatsRow,
    Taken,
)
from .shared import shared_float, shared_int, shared_text
from .traffic import TrafficHour, record_refusals, traffic
from .writer import BindingWriter, WriterStats

__all__ = ["Store", "redact_url"]

log = logging.getLogger(__name__)

_EXCHANGE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_LINE_CLASS = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_HA1 = {"MD5": re.compile(r"[0-9a-f]{32}"), "SHA-256": re.compile(r"[0-9a-f]{64}")}
_TRUNK_URI = re.compile(r"sips?:\S+", re.IGNORECASE)
_MODES = ("automated", "manual")
_LOGIN = re.compile(r"[a-z][a-z0-9._-]{0,31}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_PASSWORD_PARAMETER = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)
_CHUNK_ROWS = 2000  # rows per cursor fetch when a whole table is loaded

_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
)

_EXCHANGE_COLUMNS = """
    code, name, prefix, mode, trunk_uris, trunk_username, trunk_ha1_md5, trunk_ha1_sha256,
    extract(epoch FROM created_at)::float8 AS created_at
"""
_LINE_COLUMNS = """
    number, exchange_code, display_name, line_class, jack_label, ha1_md5, ha1_sha256,
    extract(epoch FROM created_at)::float8 AS created_at,
    extract(epoch FROM updated_at)::float8 AS updated_at
"""
_ROUTING_LINE_COLUMNS = "number, exchange_code, display_name, line_class, jack_label"
_LOCATION_COLUMNS = """
    line_number, contact, extract(epoch FROM expires_at)::float8 AS expires_at,
    round(q::numeric, 3)::float8 AS q, call_id, cseq, source_transport, source_host,
    source_port, local_port, instance_id, reg_id, user_agent, path, node
"""
_BINDING_COLUMNS = f"""{_LOCATION_COLUMNS.rstrip()},
    extract(epoch FROM updated_at)::float8 AS updated_at
"""


def redact_url(url: str) -> str:
    """`url` with any password replaced by `***`, fit for messages and logs."""
    url = _PASSWORD_PARAMETER.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable database URL>"
    if not parts.password:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class Store:
    """PostgreSQL behind typed methods. Open with `await Store.open(url)`."""

    def __init__(self, pool: asyncpg.Pool, url: str, node: str | None = None) -> None:
        self._pool = pool
        self._url = url
        self.node = node  # the serving node whose store this is (`open`)
        self._writer = BindingWriter(pool)
        self._cdr_writer = CdrWriter(pool)
        self._listeners: list[Listener] = []

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 10.0,
        node: str | None = None,
    ) -> Store:
        """Connect to `url`. `node`: the serving node whose store this is; the bindings it
        writes are announced as its own (`listen_bindings`)."""
        settings = {"softswitch.node": node} if node is not None else None
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                server_settings=settings,
            )
        except (*_UNAVAILABLE, asyncpg.PostgresError, ValueError) as exc:
            raise DatabaseUnavailableError(
                f"cannot connect to the database at {redact_url(url)}: {_first_line(exc)}"
            ) from exc
        store = cls(pool, url, node)
        store._writer.start()
        store._cdr_writer.start()
        return store

    async def close(self) -> None:
        """Commit the bindings and call records still queued, then close the connections."""
        for listener in self._listeners:
            await listener.close()
        self._listeners.clear()
        await self._writer.close()
        await self._cdr_writer.close()
        await self._pool.close()

    async def migrate(self) -> list[Migration]:
        """Apply the missing migrations; return those applied."""
        async with self._pool.acquire() as conn:
            return await apply_migrations(conn)

    # -- exchanges -----------------------------------------------------------------------

    async def add_exchange(
        self,
        code: str,
        name: str,
        prefix: str,
        mode: ExchangeMode = "automated",
        trunk_uris: Sequence[str] = (),
    ) -> Exchange:
        _check(_EXCHANGE_CODE, code, "exchange code", "1-32 of A-Z, 0-9, _ and -")
        _check(_DIGITS, prefix, "prefix", "1-15 digits")
        if not name.strip():
            raise InvalidValueError("exchange name must not be empty")
        if mode not in _MODES:
            raise InvalidValueError(f"mode must be automated or manual, not {mode!r}")
        for uri in trunk_uris:
            if not _TRUNK_URI.fullmatch(uri):
                raise InvalidValueError(f"trunk {uri!r} is not a sip: or sips: URI")
        try:
            row = await self._fetchrow(
                f"""
                INSERT INTO exchanges (code, name, prefix, mode, trunk_uris)
                VALUES ($1, $2, $3, $4, $5)
                RETURNING {_EXCHANGE_COLUMNS}
                """,
                code,
                name,
                prefix,
                mode,
                list(trunk_uris),
            )
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name == "exchanges_prefix_key":
                raise DuplicatePrefixError(code, prefix) from exc
            raise DuplicateExchangeError(code) from exc
        assert row is not None
        return _exchange(row)

    async def list_exchanges(self) -> list[Exchange]:
        rows = await self._fetch(f"SELECT {_EXCHANGE_COLUMNS} FROM exchanges ORDER BY code")
        return [_exchange(row) for row in rows]

    async def get_exchange(self, code: str) -> Exchange | None:
        row = await self._fetchrow(
            f"SELECT {_EXCHANGE_COLUMNS} FROM exchanges WHERE code = $1", code
        )
        return None if row is None else _exchange(row)

    async def set_trunk_credentials(
        self, code: str, username: str | None, ha1_md5: str | None, ha1_sha256: str | None
    ) -> None:
        """The digest credentials a peer exchange authenticates its calls with (all `None`
        to take them away). Raises `UnknownExchangeError`, `InvalidValueError`."""
        _check_ha1s(ha1_md5, ha1_sha256)
        try:
            row = await self._fetchrow(
                """
                UPDATE exchanges
                SET trunk_username = $2, trunk_ha1_md5 = $3, trunk_ha1_sha256 = $4
                WHERE code = $1 RETURNING code
                """,
                code,
                username,
                ha1_md5,
                ha1_sha256,
            )
        except asyncpg.UniqueViolationError as exc:
            raise InvalidValueError(f"trunk user {username} is taken by another exchange") from exc
        if row is None:
            raise UnknownExchangeError(code)

    # -- lines ---------------------------------------------------------------------------

    async def add_line(
        self,
        number: str,
        exchange_code: str,
        display_name: str | None = None,
        ha1_md5: str | None = None,
        ha1_sha256: str | None = None,
        line_class: str = "residential",
        jack_label: str | None = None,
    ) -> Line:
        """Add a line. Credentials are digest HA1s (both or neither), never a password."""
        _check(_DIGITS, number, "line number", "1-15 digits")
        _check(_LINE_CLASS, line_class, "line class", "lower-case letters, digits, _ and -")
        _check_ha1s(ha1_md5, ha1_sha256)
        try:
            row = await self._fetchrow(
                f"""
                INSERT INTO lines (number, exchange_code, display_name, line_class, jack_label,
                                   ha1_md5, ha1_sha256)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                RETURNING {_LINE_COLUMNS}
                """,
                number,
                exchange_code,
                display_name,
                line_class,
                jack_label,
                ha1_md5,
                ha1_sha256,
            )
        except asyncpg.UniqueViolationError as exc:
            raise DuplicateLineError(number) from exc
        except asyncpg.ForeignKeyViolationError as exc:
            raise UnknownExchangeError(exchange_code) from exc
        assert row is not None
        return _line(row)

    async def list_lines(self, exchange_code: str | None = None) -> list[Line]:
        if exchange_code is None:
            rows = await self._fetch(f"SELECT {_LINE_COLUMNS} FROM lines ORDER BY number")
            return [_line(row) for row in rows]
        rows = await self._fetch(
            f"SELECT {_LINE_COLUMNS} FROM lines WHERE exchange_code = $1 ORDER BY number",
            exchange_code,
        )
        if not rows and await self.get_exchange(exchange_code) is None:
            raise UnknownExchangeError(exchange_code)
        return [_line(row) for row in rows]

    async def get_line(self, number: str) -> Line | None:
        row = await self._fetchrow(f"SELECT {_LINE_COLUMNS} FROM lines WHERE number = $1", number)
        return None if row is None else _line(row)

    async def set_line_credentials(
        self, number: str, ha1_md5: str | None, ha1_sha256: str | None
    ) -> None:
        """Replace a line's HA1s (both `None` to take its credentials away)."""
        _check_ha1s(ha1_md5, ha1_sha256)
        row = await self._fetchrow(
            """
            UPDATE lines SET ha1_md5 = $2, ha1_sha256 = $3, updated_at = now()
            WHERE number = $1 RETURNING number
            """,
            number,
            ha1_md5,
            ha1_sha256,
        )
        if row is None:
            raise UnknownLineError(number)

    async def remove_line(self, number: str) -> None:
        """Remove a line and, with it, its bindings. Raises `LineInUseError` while it is an
        operator's phone."""
        try:
            row = await self._fetchrow(
                "DELETE FROM lines WHERE number = $1 RETURNING number", number
            )
        except asyncpg.ForeignKeyViolationError as exc:
            users = [o.login for o in await self.list_operators() if o.line_number == number]
            raise LineInUseError(number, ", ".join(users) or "an operator") from exc
        if row is None:
            raise UnknownLineError(number)

    async def load_credentials(self) -> dict[str, tuple[str, str]]:
        """{number: (ha1_md5, ha1_sha256)} of every line that has credentials."""
        rows = await self._fetch(
            "SELECT number, ha1_md5, ha1_sha256 FROM lines WHERE ha1_md5 IS NOT NULL"
        )
        return {row["number"]: (row["ha1_md5"], row["ha1_sha256"]) for row in rows}

    async def load_routing_lines(self) -> list[Line]:
        """Every line as a serving node keeps it in memory for routing: without its HA1s
        (see `load_ha1_digests`) and timestamps, which routing never reads."""
        lines: list[Line] = []
        query = f"SELECT {_ROUTING_LINE_COLUMNS} FROM lines ORDER BY number"
        async for rows in self._fetch_chunks(query):
            lines.extend(map(_routing_line, rows))
        return lines

    async def load_ha1_digests(self, numbers: Mapping[str, str] | None = None) -> dict[str, bytes]:
        """{number: the MD5 HA1 then the SHA-256 HA1, as raw digests (16 + 32 bytes)} of every
        line that has credentials: under half the memory of the two hex strings. A number in
        `numbers` is keyed by the string found there (the caller's own: held once)."""
        digests: dict[str, bytes] = {}
        query = """
            SELECT number, decode(ha1_md5, 'hex') || decode(ha1_sha256, 'hex') AS digests
            FROM lines WHERE ha1_md5 IS NOT NULL
        """
        async for rows in self._fetch_chunks(query):
            for number, found in rows:
                digests[_same(numbers, number)] = found
        return digests

    async def listen_lines(self, callback: Callback, *, on_resync: Resync | None = None) -> None:
        """Call `callback(number)` for each line added, changed or removed, by any process.

        Calls come one at a time, in commit order, until the store is closed. After a lost
        connection is re-established `on_resync()` is called, since changes made meanwhile were
        not heard: reload what is cached.
        """
        await self._listen(LINES_CHANNEL, callback, on_resync)

    async def listen_bindings(self, callback: Callback, *, on_resync: Resync | None = None) -> None:
        """Call `callback("<node> <line>,<line>,...")` for each statement, of any process,
        that added, refreshed or removed bindings, with the lines whose bindings it changed
        (in more than one call when they are many): `<node>` is the node that wrote them
        (`Store.open`), empty for a writer that is not a node. Delivery as for
        `listen_lines`. The connection also holds the node's presence lock for as long as it
        lives (`hand_over_held_calls`)."""
        node = self.node
        announce = None if node is None else partial(queue_calls.announce_node, node=node)
        await self._listen(BINDINGS_CHANNEL, callback, on_resync, announce)

    async def listen_exchanges(
        self, callback: Callback, *, on_resync: Resync | None = None
    ) -> None:
        """Call `callback(code)` for each exchange added, changed or removed, by any process
        (trunks, mode and prefixes that routing uses). Delivery as for `listen_lines`."""
        await self._listen(EXCHANGES_CHANNEL, callback, on_resync)

    # -- dialplans -----------------------------------------------------------------------

    async def save_dialplan(self, sources: Mapping[str, str], comment: str | None = None) -> int:
        """Store `sources` ({file name: text}) as a new version and make it the active one, in
        one transaction; return its number. Validating the dialplan is the caller's job."""
        with _database_errors():
            return await dialplans.save(self._pool, sources, comment)

    async def activate_dialplan(self, version: int) -> None:
        """Make an earlier (or any stored) version the active one. Raises
        `UnknownDialplanVersionError` if there is no such version."""
        with _database_errors():
            await dialplans.activate(self._pool, version)

    async def active_dialplan(self) -> tuple[int, dict[str, str]] | None:
        """(version, {file name: text}) of the active dialplan, or None before the first."""
        with _database_errors():
            return await dialplans.active(self._pool)

    async def dialplan_version(self, version: int) -> dict[str, str]:
        """{file name: text} of a stored version. Raises `UnknownDialplanVersionError`."""
        with _database_errors():
            return await dialplans.sources_of(self._pool, version)

    async def list_dialplan_versions(self) -> list[DialplanVersion]:
        """Every stored version, oldest first, the active one flagged."""
        with _database_errors():
            return await dialplans.list_versions(self._pool)

    async def listen_dialplan(
        self,
        callback: Callable[[int], Awaitable[None] | None],
        *,
        on_resync: Resync | None = None,
    ) -> None:
        """Call `callback(version)` each time a dialplan version becomes the active one, by
        any process, once that is committed. Delivery as for `listen_lines`."""

        def activated(payload: str) -> Awaitable[None] | None:
            return callback(int(payload))

        await self._listen(DIALPLAN_CHANNEL, activated, on_resync)

    # -- call records --------------------------------------------------------------------

    def record_cdr(self, record: CallRecord) -> None:
        """Queue a call record; returns at once (it is written with others in one COPY).
        Raises `InvalidValueError` for an unknown disposition, `StoreClosedError` once the
        store is closed. A record the database refuses is logged and dropped."""
        self._cdr_writer.submit(record)

    async def flush(self) -> None:
        """Return once every call record queued so far is written (or dropped)."""
        await self._cdr_writer.flush()

    async def record_refusals(
        self, node: str, started_at: float, ended_at: float, invites: int, registrations: int
    ) -> None:
        """New calls and registrations `node` refused in overload in this interval."""
        with _database_errors():
            await record_refusals(self._pool, node, started_at, ended_at, invites, registrations)

    async def traffic(self, since: float, until: float, utc_offset: int = 0) -> list[TrafficHour]:
        """The traffic of every hour from `since` to `until` (epoch seconds), in the hours of
        a clock `utc_offset` seconds ahead of UTC."""
        with _database_errors():
            return await traffic(self._pool, since, until, utc_offset)

    async def list_cdrs(
        self,
        since: float | None = None,
        line: str | None = None,
        disposition: str | None = None,
        limit: int = 100,
    ) -> list[CallRecord]:
        """The newest `limit` call records, newest first: started at or after `since` (epoch
        seconds), from or to `line`, with `disposition`."""
        with _database_errors():
            return await list_cdrs(
                self._pool, since=since, line=line, disposition=disposition, limit=limit
            )

    async def get_cdr(self, key: int | str) -> list[CallRecord]:
        """The call record with id `key` (int), or those of SIP Call-ID `key` (str)."""
        with _database_errors():
            return await get_cdr(self._pool, key)

    async def set_call_note(self, call_id: str, operator: str, note: str) -> None:
        """The operator's note on a call, kept with its record (empty: removed)."""
        with _database_errors():
            await set_call_note(self._pool, call_id, operator, note)

    async def call_notes(self, call_ids: Sequence[str]) -> dict[str, str]:
        """The operators' notes of these calls, by Call-ID."""
        with _database_errors():
            return await call_notes(self._pool, list(call_ids))

    @property
    def cdr_stats(self) -> CdrWriterStats:
        return self._cdr_writer.stats

    # -- bindings ------------------------------------------------------------------------

    async def load_bindings(self, now: float, *, line: str | None = None) -> list[Binding]:
        """Unexpired bindings (of one line, or all), by line, then q (highest first)."""
        where = "expires_at > to_timestamp($1::float8)"
        args: list[object] = [now]
        if line is not None:
            where += " AND line_number = $2"
            args.append(line)
        rows = await self._fetch(
            f"SELECT {_BINDING_COLUMNS} FROM bindings WHERE {where} "
            "ORDER BY line_number, q DESC, contact",
            *args,
        )
        return [_binding(row) for row in rows]

    async def load_location(
        self, now: float, numbers: Mapping[str, str] | None = None
    ) -> list[Binding]:
        """The unexpired bindings as a serving node keeps them in memory: without `updated_at`,
        like those the registrar makes; in the order of `load_bindings`. A line number in
        `numbers` is the string found there (the caller's own: held once)."""
        bindings: list[Binding] = []
        query = (
            f"SELECT {_LOCATION_COLUMNS} FROM bindings "
            "WHERE expires_at > to_timestamp($1::float8) ORDER BY line_number, q DESC, contact"
        )
        async for rows in self._fetch_chunks(query, now):
            bindings.extend(_binding(row, numbers) for row in rows)
        return bindings

    async def load_location_of(self, lines: Sequence[str], now: float) -> list[Binding]:
        """The unexpired bindings of `lines`, as `load_location` gives them."""
        return [
            _binding(row)
            for row in await self._fetch(
                f"SELECT {_LOCATION_COLUMNS} FROM bindings "
                "WHERE line_number = ANY($1::text[]) AND expires_at > to_timestamp($2::float8) "
                "ORDER BY line_number, q DESC, contact",
                list(lines),
                now,
            )
        ]

    async def delete_expired_bindings(self, now: float) -> list[tuple[str, str]]:
        """Delete bindings expired at `now`; return their (line, contact)."""
        rows = await self._fetch(
            """
            DELETE FROM bindings WHERE expires_at <= to_timestamp($1::float8)
            RETURNING line_number, contact
            """,
            now,
        )
        return [(row["line_number"], row["contact"]) for row in rows]

    async def write_bindings(
        self, line: str, upserts: Sequence[Binding] = (), removals: Sequence[str] = ()
    ) -> None:
        """Add or refresh `upserts` and delete the contacts `removals` of `line`.

        Returns once committed. Concurrent calls share one transaction (group commit). Raises
        `UnknownLineError` if the line does not exist (any more), `InvalidValueError` for a
        binding the schema refuses, `DatabaseUnavailableError` if the database cannot be reached.
        """
        await self._writer.write(line, upserts, removals)

    def submit_bindings(
        self, line: str, upserts: Sequence[Binding] = (), removals: Sequence[str] = ()
    ) -> asyncio.Future[None]:
        """`write_bindings` without waiting: the future is done once the change is committed,
        or holds the error `write_bindings` would raise; a change that cannot be queued
        (misuse, a closed store) raises at once."""
        return self._writer.submit(line, upserts, removals)

    async def remove_all_bindings(self, line: str) -> None:
        """Delete every binding of `line` (a `Contact: *` registration), in write order."""
        await self._writer.write(line, remove_all=True)

    @property
    def writer_stats(self) -> WriterStats:
        return self._writer.stats

    # -- operators -----------------------------------------------------------------------

    async def add_operator(
        self,
        login: str,
        line_number: str,
        password_hash: str,
        queues: Sequence[str] = (),
        display_name: str | None = None,
    ) -> OperatorRow:
        """Add an operator whose phone is `line_number`. `password_hash` is an argon2 hash
        (`softswitch.queue.accounts.hash_password`), never a password. Raises
        `DuplicateOperatorError`, `UnknownLineError`, `InvalidValueError`."""
        _check(_LOGIN, login, "login", "1-32 of a-z, 0-9, '.', '_' and '-', from a letter")
        _check_queues(queues)
        if not password_hash.startswith("$argon2"):
            raise InvalidValueError("password_hash must be an argon2 hash")
        with _database_errors():
            return await operators.add(
                self._pool, login, display_name, password_hash, line_number, queues
            )

    async def get_operator(self, login: str) -> OperatorRow | None:
        with _database_errors():
            return await operators.get(self._pool, login)

    async def list_operators(self) -> list[OperatorRow]:
        with _database_errors():
            return await operators.list_all(self._pool)

    async def remove_operator(self, login: str) -> None:
        """Raises `UnknownOperatorError`."""
        with _database_errors():
            await operators.remove(self._pool, login)

    async def set_operator_password(self, login: str, password_hash: str) -> None:
        """Replace an operator's argon2 hash. Raises `UnknownOperatorError`."""
        if not password_hash.startswith("$argon2"):
            raise InvalidValueError("password_hash must be an argon2 hash")
        with _database_errors():
            await operators.set_password(self._pool, login, password_hash)

    async def update_position(self, change: PositionChange) -> OperatorRow | None:
        """Apply `change` if the operator's position is still `change.expected`; the operator
        as it is now, or None if the position had changed (or the operator is gone)."""
        with _database_errors():
            return await operators.update_position(self._pool, change)

    # -- the operator queue --------------------------------------------------------------

    async def add_queue_call(self, row: QueueCallRow) -> QueueCallRow:
        """Insert a queue call; the row as stored, with its id."""
        _check(_QUEUE_NAME, row.queue, "queue name", "1-64 of A-Z, a-z, 0-9, _ . and -")
        with _database_errors():
            return await queue_calls.insert(self._pool, row)

    async def update_queue_call(self, row: QueueCallRow, revision: int) -> QueueCallRow | None:
        """Write the state, operator, times and outcome of `row` if the stored row is still at
        `revision`; the row as stored, or None if it was changed meanwhile."""
        with _database_errors():
            return await queue_calls.update(self._pool, row, revision)

    async def take_queue_call(
        self,
        id: int,
        operator: str,
        *,
        from_states: Sequence[str],
        state: str,
        event: str,
        now: float,
        position: PositionChange,
    ) -> Taken:
        """Claim call `id` for `operator` (only if its state is one of `from_states`) and
        change the operator's position, in one transaction: of concurrent claims exactly one
        gets the call."""
        with _database_errors():
            return await queue_calls.take(
                self._pool,
                id,
                operator,
                from_states=from_states,
                state=state,
                event=event,
                now=now,
                position=position,
            )

    async def move_queue_call(
        self, old: QueueCallRow, revision: int, new: QueueCallRow
    ) -> tuple[QueueCallRow, QueueCallRow] | None:
        """End `old` (if still at `revision`) and insert `new` in its place, in one
        transaction: a call overflowing to another queue. None if `old` had changed."""
        _check(_QUEUE_NAME, new.queue, "queue name", "1-64 of A-Z, a-z, 0-9, _ . and -")
        with _database_errors():
            return await queue_calls.move(self._pool, old, revision, new)

    async def get_queue_call(self, id: int) -> QueueCallRow | None:
        with _database_errors():
            return await queue_calls.get(self._pool, id)

    async def list_queue_calls(
        self, queue: str | None = None, *, live: bool = True, limit: int = 1000
    ) -> list[QueueCallRow]:
        """The calls still in a queue (`live`: not ended), or the latest `limit` calls, oldest
        first."""
        with _database_errors():
            return await queue_calls.list_calls(self._pool, queue=queue, live=live, limit=limit)

    async def queue_stats_rows(self, queue: str | None, since: float) -> list[QueueStatsRow]:
        """The calls that entered `queue` (or any queue) at or after `since`."""
        with _database_errors():
            return await queue_calls.stats_rows(self._pool, queue, since)

    async def set_queue_config(self, config: QueueConfigRow) -> QueueConfigRow:
        """Add or replace a queue's settings."""
        _check(_QUEUE_NAME, config.queue, "queue name", "1-64 of A-Z, a-z, 0-9, _ . and -")
        with _database_errors():
            return await queue_calls.set_config(self._pool, config)

    async def get_queue_config(self, queue: str) -> QueueConfigRow | None:
        with _database_errors():
            return await queue_calls.get_config(self._pool, queue)

    async def list_queue_configs(self) -> list[QueueConfigRow]:
        with _database_errors():
            return await queue_calls.list_configs(self._pool)

    async def remove_queue_config(self, queue: str) -> bool:
        """Back to the defaults; False if the queue had no settings."""
        with _database_errors():
            return await queue_calls.remove_config(self._pool, queue)

    # -- held INVITEs (answered after a restart) ------------------------------------------

    async def keep_held_invite(self, row: HeldInviteRow) -> None:
        """Remember a caller's INVITE held by `row.node` (replacing one of the same call)."""
        with _database_errors():
            await queue_calls.keep_held(self._pool, row)

    async def mark_held_invite_answered(self, node: str, call_id: str, at: float) -> None:
        with _database_errors():
            await queue_calls.mark_held_answered(self._pool, node, call_id, at)

    async def keep_held_legs(self, node: str, call_id: str, legs: Sequence[HeldLeg]) -> None:
        """The other legs of a held call that are up now (none: an empty list)."""
        with _database_errors():
            await queue_calls.keep_legs(self._pool, node, call_id, legs)

    async def drop_held_invites(self, node: str, call_ids: Sequence[str]) -> None:
        with _database_errors():
            await queue_calls.drop_held(self._pool, node, call_ids)

    async def list_held_invites(self, node: str) -> list[HeldInvite]:
        """The INVITEs `node` holds, each with the latest queue entry of its call."""
        with _database_errors():
            return await queue_calls.list_held(self._pool, node)

    async def holding_nodes(self) -> list[str]:
        """The nodes that hold a caller's INVITE or a live queue entry."""
        with _database_errors():
            return await queue_calls.holding_nodes(self._pool)

    async def hand_over_held_calls(self, from_node: str, to_node: str) -> int | None:
        """Give `to_node` the held INVITEs and live queue entries of `from_node`, if that node
        is not running (None if it is); how many held INVITEs moved."""
        with _database_errors():
            return await queue_calls.hand_over_held(self._pool, from_node, to_node)

    async def listen_queue(
        self, callback: Callback, *, on_resync: Resync | None = None
    ) -> Callable[[], Awaitable[None]]:
        """Call `callback(payload)` for each change to the queue, by any process:
        `call:ID:REVISION` (a queue call), `operator:LOGIN:REVISION` (an operator or their
        position), `config:QUEUE:REVISION` (a queue's settings). Delivery as for
        `listen_lines`, until the store is closed or the function returned is awaited."""
        listener = await self._listen(QUEUE_CHANNEL, callback, on_resync)

        async def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
                await listener.close()

        return stop

    # -- plumbing ------------------------------------------------------------------------

    async def _listen(
        self,
        channel: str,
        callback: Callback,
        on_resync: Resync | None,
        on_connect: OnConnect | None = None,
    ) -> Listener:
        listener = Listener(self._url, channel, callback, on_resync, on_connect)
        try:
            await listener.start()
        except (*_UNAVAILABLE, asyncpg.PostgresError) as exc:
            raise DatabaseUnavailableError(
                f"cannot listen for changes: {_first_line(exc)}"
            ) from exc
        self._listeners.append(listener)
        return listener

    async def _fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        with _database_errors():
            return await self._pool.fetch(query, *args)

    async def _fetchrow(self, query: str, *args: object) -> asyncpg.Record | None:
        rows = await self._fetch(query, *args)
        return rows[0] if rows else None

    async def _fetch_chunks(self, query: str, *args: object) -> AsyncIterator[list[asyncpg.Record]]:
        """The rows in chunks, read through a cursor: the rows of a whole table (what a node
        loads at start) are never all held at once, only what the caller keeps of them, and
        the memory of one chunk is reused by the next."""
        with _database_errors():
            async with self._pool.acquire() as conn, conn.transaction(readonly=True):
                cursor = await conn.cursor(query, *args)
                while rows := await cursor.fetch(_CHUNK_ROWS):
                    yield rows


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """asyncpg's errors as the store's: one line, fit for an admin."""
    try:
        yield
    except InvalidValueError:
        raise
    except ValueError as exc:  # asyncpg could not encode an argument
        raise InvalidValueError(f"refused: {_first_line(exc)}") from exc
    except _UNAVAILABLE as exc:
        raise DatabaseUnavailableError(f"database unavailable: {_first_line(exc)}") from exc
    except (asyncpg.CheckViolationError, asyncpg.DataError) as exc:
        raise InvalidValueError(f"refused by the database: {_first_line(exc)}") from exc


def _check(pattern: re.Pattern[str], value: str, what: str, rule: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidValueError(f"{what} {value!r} is not valid ({rule})")


def _check_queues(queues: Sequence[str]) -> None:
    if isinstance(queues, str):
        raise InvalidValueError("queues must be a list of queue names")
    for queue in queues:
        _check(_QUEUE_NAME, queue, "queue name", "1-64 of A-Z, a-z, 0-9, _ . and -")


def _check_ha1s(ha1_md5: str | None, ha1_sha256: str | None) -> None:
    if (ha1_md5 is None) != (ha1_sha256 is None):
        raise InvalidValueError("give both HA1s (MD5 and SHA-256) or neither")
    if ha1_md5 is not None and not _HA1["MD5"].fullmatch(ha1_md5):
        raise InvalidValueError("ha1_md5 must be 32 lower-case hex digits")
    if ha1_sha256 is not None and not _HA1["SHA-256"].fullmatch(ha1_sha256):
        raise InvalidValueError("ha1_sha256 must be 64 lower-case hex digits")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _exchange(row: asyncpg.Record) -> Exchange:
    return Exchange(
        code=row["code"],
        name=row["name"],
        prefix=row["prefix"],
        mode=row["mode"],
        trunk_uris=tuple(row["trunk_uris"]),
        created_at=row["created_at"],
        trunk_username=row["trunk_username"],
        trunk_ha1_md5=row["trunk_ha1_md5"],
        trunk_ha1_sha256=row["trunk_ha1_sha256"],
    )


def _line(row: asyncpg.Record) -> Line:
    return replace(
        _routing_line(row),
        ha1_md5=row["ha1_md5"],
        ha1_sha256=row["ha1_sha256"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _routing_line(row: asyncpg.Record) -> Line:
    return Line(
        number=row["number"],
        exchange_code=shared_text(row["exchange_code"]),
        display_name=row["display_name"],
        line_class=shared_text(row["line_class"]),
        jack_label=row["jack_label"],
    )


def _binding(row: asyncpg.Record, numbers: Mapping[str, str] | None = None) -> Binding:
    user_agent = row["user_agent"]
    return Binding(
        line_number=_same(numbers, row["line_number"]),
        contact=row["contact"],
        expires_at=row["expires_at"],
        q=shared_float(row["q"]),
        call_id=row["call_id"],
        cseq=row["cseq"],
        source_transport=shared_text(row["source_transport"]),
        source_host=shared_text(row["source_host"]),
        source_port=row["source_port"],
        local_port=shared_int(row["local_port"]),
        node=shared_text(row["node"]),
        instance_id=row["instance_id"],
        reg_id=row["reg_id"],
        user_agent=None if user_agent is None else shared_text(user_agent),
        path=tuple(row["path"]),
        updated_at=row.get("updated_at"),
    )


def _same(numbers: Mapping[str, str] | None, number: str) -> str:
    """`number` as the string `numbers` holds for it, if any."""
    return number if numbers is None else numbers.get(number, number)
