"""Dialplan versions, exchange and dialplan notifications, and the call record writer, against a
real PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from softswitch.store import (
    CallRecord,
    InvalidValueError,
    Store,
    StoreClosedError,
    UnknownDialplanVersionError,
)
from softswitch.store.cdrs import CdrWriter

pytestmark = pytest.mark.integration

PLAN_A = {"00-network.toml": '[[rule]]\nname = "all"\npattern = "*"\nreject = { status = 403 }\n'}
PLAN_B = {
    "00-network.toml": PLAN_A["00-network.toml"],
    "10-ashford.toml": '[[rule]]\nname = "ash"\nprefix = "5551"\ndeliver = { exchange = "ASH" }\n',
}


def record(n: int, **fields: object) -> CallRecord:
    values: dict[str, object] = {
        "call_id": f"call-{n}@192.0.2.1",
        "caller": "5551001",
        "dialed": "002",
        "number": "5551002",
        "rule": "ashford",
        "route": "line 5551002 (exchange ASH)",
        "started_at": 1_700_000_000.0 + n,
        "disposition": "busy",
        "status": 486,
        "reason": "Busy Here",
        "node": "node-a",
    }
    values.update(fields)
    return CallRecord(**values)  # type: ignore[arg-type]


# -- dialplan versions ----------------------------------------------------------------------


async def test_versions_are_numbered_and_the_latest_saved_is_active(store: Store) -> None:
    assert await store.active_dialplan() is None
    assert await store.list_dialplan_versions() == []

    first = await store.save_dialplan(PLAN_A, "first cut")
    second = await store.save_dialplan(PLAN_B)
    assert second == first + 1
    assert await store.active_dialplan() == (second, PLAN_B)
    assert await store.dialplan_version(first) == PLAN_A

    listed = await store.list_dialplan_versions()
    assert [(v.version, v.active, v.comment, v.files) for v in listed] == [
        (first, False, "first cut", ("00-network.toml",)),
        (second, True, None, ("00-network.toml", "10-ashford.toml")),
    ]
    assert abs(listed[0].created_at - time.time()) < 60
    assert len(listed[0].checksum) == 64 and listed[0].checksum != listed[1].checksum


async def test_rollback_switches_the_active_version(store: Store) -> None:
    first = await store.save_dialplan(PLAN_A)
    second = await store.save_dialplan(PLAN_B)
    await store.activate_dialplan(first)
    assert await store.active_dialplan() == (first, PLAN_A)
    await store.activate_dialplan(second)
    assert (await store.active_dialplan() or (0,))[0] == second

    with pytest.raises(UnknownDialplanVersionError, match=r"^no dialplan version 99$"):
        await store.activate_dialplan(99)
    with pytest.raises(UnknownDialplanVersionError):
        await store.dialplan_version(99)
    assert (await store.active_dialplan() or (0,))[0] == second


async def test_saving_is_atomic(store: Store, fresh_database_url: str) -> None:
    """A version is stored and made active in one transaction: a reader never sees the new
    version without it being active, and a failed save leaves the active version alone."""
    first = await store.save_dialplan(PLAN_A)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        async with conn.transaction():
            # Hold the pointer row: the save must wait, its version not yet visible.
            await conn.execute("SELECT * FROM dialplan_active FOR UPDATE")
            saving = asyncio.create_task(store.save_dialplan(PLAN_B))
            await asyncio.sleep(0.3)
            assert not saving.done()
            assert await conn.fetchval("SELECT count(*) FROM dialplan_versions") == 1
        second = await asyncio.wait_for(saving, 5)
        assert await conn.fetchrow(
            "SELECT (SELECT max(version) FROM dialplan_versions) AS latest, "
            "(SELECT version FROM dialplan_active) AS active"
        ) == (second, second)
    finally:
        await conn.close()

    with pytest.raises(InvalidValueError):
        await store.save_dialplan({})
    with pytest.raises(InvalidValueError):
        await store.save_dialplan({"bad.toml": "nul \x00 inside"})
    assert (await store.active_dialplan() or (0,))[0] == second
    assert [v.version for v in await store.list_dialplan_versions()] == [first, second]


async def test_activation_is_heard_by_a_listener(store: Store, fresh_database_url: str) -> None:
    heard: asyncio.Queue[int] = asyncio.Queue()
    await store.listen_dialplan(heard.put)
    other = await Store.open(fresh_database_url)  # another process, as far as the store knows
    try:
        first = await other.save_dialplan(PLAN_A)
        second = await other.save_dialplan(PLAN_B)
        await other.activate_dialplan(first)
        await other.activate_dialplan(first)  # no change: nothing to tell
        await other.activate_dialplan(second)
        got = [await asyncio.wait_for(heard.get(), 5) for _ in range(4)]
        assert got == [first, second, first, second]
        await asyncio.sleep(0.2)
        assert heard.empty()
    finally:
        await other.close()


async def test_exchange_changes_are_heard(store: Store, fresh_database_url: str) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    await store.listen_exchanges(heard.put)
    await store.add_exchange("ASH", "Ashford", "5551")
    await store.add_exchange("BIR", "Birchwood", "5552", trunk_uris=["sip:bir.county.test"])
    conn = await asyncpg.connect(fresh_database_url)
    try:
        await conn.execute("UPDATE exchanges SET mode = 'manual' WHERE code = 'BIR'")
        await conn.execute("DELETE FROM exchanges WHERE code = 'ASH'")
    finally:
        await conn.close()
    got = [await asyncio.wait_for(heard.get(), 5) for _ in range(4)]
    assert got == ["ASH", "BIR", "BIR", "ASH"]


# -- call records ---------------------------------------------------------------------------


async def test_a_thousand_records_take_a_few_round_trips(store: Store) -> None:
    before = store.cdr_stats
    started = time.perf_counter()
    for n in range(1000):
        store.record_cdr(record(n))
    queued_in = time.perf_counter() - started
    assert queued_in < 0.5  # no waiting on the database: only appends
    assert store.cdr_stats.written == before.written  # nothing written before the loop runs

    await store.flush()
    stats = store.cdr_stats
    assert stats.records - before.records == 1000
    assert stats.written - before.written == 1000
    assert stats.batches - before.batches <= 3  # one COPY per batch, far fewer than 1,000
    assert (stats.dropped, stats.pending) == (0, 0)

    rows = await store.list_cdrs(limit=5000)
    assert len(rows) == 1000
    assert [r.call_id for r in rows[:2]] == ["call-999@192.0.2.1", "call-998@192.0.2.1"]
    assert rows[0] == record(999, id=rows[0].id)


async def test_records_while_a_batch_is_written_join_the_next(store: Store) -> None:
    for n in range(10):
        store.record_cdr(record(n))
        await asyncio.sleep(0)
    for n in range(10, 500):
        store.record_cdr(record(n))
    await store.flush()
    assert store.cdr_stats.written == 500
    assert store.cdr_stats.batches < 20
    assert len(await store.list_cdrs(limit=1000)) == 500


async def test_records_that_trickle_in_while_a_batch_is_written_wait_for_the_next(
    store: Store,
) -> None:
    """A record submitted while a COPY is under way waits out the linger like the first
    records did, so calls that end one by one do not each get a COPY of their own."""
    writer = CdrWriter(store._pool, linger=0.5)
    writer.submit(record(1000))
    await writer.flush()  # the connection and the COPY are warm
    before = writer.stats
    for n in range(50):
        writer.submit(record(n))
    await asyncio.sleep(0.5)
    for n in range(50, 250):  # from the end of the linger on, about one record a millisecond
        writer.submit(record(n))
        await asyncio.sleep(0.001)
    for _ in range(100):
        if writer.stats.written - before.written == 250:
            break
        await asyncio.sleep(0.05)
    stats = writer.stats
    await writer.close()
    assert stats.written - before.written == 250
    assert stats.batches - before.batches <= 3  # without the linger: a COPY every few ms


async def test_record_round_trip_and_filters(store: Store) -> None:
    answered = record(
        1,
        disposition="answered",
        status=200,
        reason=None,
        answered_at=1_700_000_003.5,
        ended_at=1_700_000_065.25,
        ended_by="callee",
        note="ünïcode note",
    )
    store.record_cdr(answered)
    store.record_cdr(record(2, caller="5552001", number="5553123", disposition="no answer"))
    store.record_cdr(record(3, caller="trunk:BIR", number="5551001", disposition="rejected"))
    await store.flush()

    rows = await store.list_cdrs()
    assert [r.call_id.split("@")[0] for r in rows] == ["call-3", "call-2", "call-1"]
    back = rows[-1]
    assert back == CallRecord(**{**_values(answered), "id": back.id})
    assert back.duration_seconds == pytest.approx(61.75)

    assert [r.caller for r in await store.list_cdrs(line="5551001")] == ["trunk:BIR", "5551001"]
    assert [r.number for r in await store.list_cdrs(disposition="no answer")] == ["5553123"]
    assert len(await store.list_cdrs(since=1_700_000_002.0)) == 2
    assert len(await store.list_cdrs(limit=1)) == 1
    with pytest.raises(InvalidValueError, match="unknown disposition"):
        await store.list_cdrs(disposition="abandoned")


async def test_a_refused_record_is_dropped_alone(store: Store) -> None:
    with pytest.raises(InvalidValueError):
        store.record_cdr(record(0, disposition="lost"))
    store.record_cdr(record(1))
    store.record_cdr(record(2, status=999))  # refused by the table's CHECK
    store.record_cdr(record(3))
    await store.flush()
    stats = store.cdr_stats
    assert (stats.written, stats.dropped) == (2, 1)
    assert sorted(r.call_id for r in await store.list_cdrs()) == [
        "call-1@192.0.2.1",
        "call-3@192.0.2.1",
    ]


async def test_close_writes_what_is_queued(fresh_database_url: str) -> None:
    store = await Store.open(fresh_database_url)
    await store.migrate()
    for n in range(300):
        store.record_cdr(record(n))
    await store.close()
    with pytest.raises(StoreClosedError):
        store.record_cdr(record(301))

    reopened = await Store.open(fresh_database_url)
    try:
        assert len(await reopened.list_cdrs(limit=1000)) == 300
    finally:
        await reopened.close()


def _values(r: CallRecord) -> dict[str, object]:
    return {name: getattr(r, name) for name in CallRecord.__dataclass_fields__}
