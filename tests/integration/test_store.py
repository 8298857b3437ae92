"""The store against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import asyncpg
import pytest

from softswitch.registrar import pack_ha1s
from softswitch.sip.digest import compute_ha1
from softswitch.store import (
    Binding,
    DatabaseUnavailableError,
    DuplicateExchangeError,
    DuplicateLineError,
    DuplicatePrefixError,
    InvalidValueError,
    MigrationError,
    Store,
    StoreClosedError,
    UnknownExchangeError,
    UnknownLineError,
    apply_migrations,
    binding_notice,
    discover_migrations,
)
from softswitch.store.writer import VALUES_ROWS, upsert_statement

pytestmark = pytest.mark.integration

REALM = "county.test"


def ha1s(number: str, password: str) -> tuple[str, str]:
    return (
        compute_ha1(number, REALM, password, "MD5"),
        compute_ha1(number, REALM, password, "SHA-256"),
    )


def binding(line: str, contact: str, *, expires_at: float | None = None, **changes) -> Binding:
    values = {
        "line_number": line,
        "contact": contact,
        "expires_at": time.time() + 3600 if expires_at is None else expires_at,
        "call_id": f"call-{contact}",
        "cseq": 1,
        "source_transport": "udp",
        "source_host": "192.0.2.10",
        "source_port": 5060,
        "local_port": 5060,
        "node": "node-a",
    }
    values.update(changes)
    return Binding(**values)


async def network(store: Store, lines: int = 1) -> list[str]:
    """An exchange MILL (prefix 31) with `lines` lines 3100, 3101, ..."""
    await store.add_exchange("MILL", "Millbrook", "31")
    numbers = [f"31{index:02d}" for index in range(lines)]
    for number in numbers:
        await store.add_line(number, "MILL", None, *ha1s(number, "secret"))
    return numbers


async def count_rows(url: str, table: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


# -- migrations -----------------------------------------------------------------------------


async def test_migrations_apply_once(fresh_database_url: str) -> None:
    store = await Store.open(fresh_database_url)
    try:
        first = await store.migrate()
        second = await store.migrate()
    finally:
        await store.close()
    assert [m.label for m in first] == [m.label for m in discover_migrations()]
    assert first[0].label == "0001_foundation"
    assert second == []
    conn = await asyncpg.connect(fresh_database_url)
    try:
        rows = await conn.fetch("SELECT version, name FROM schema_migrations")
        tables = {
            row["tablename"]
            for row in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")
        }
    finally:
        await conn.close()
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in first]
    assert {"exchanges", "lines", "bindings", "schema_migrations"} <= tables


async def test_concurrent_runners_apply_each_migration_once(fresh_database_url: str) -> None:
    conns = [await asyncpg.connect(fresh_database_url) for _ in range(6)]
    try:
        results = await asyncio.gather(*(apply_migrations(conn) for conn in conns))
    finally:
        for conn in conns:
            await conn.close()
    applied = [m.label for result in results for m in result]
    assert sorted(applied) == [m.label for m in discover_migrations()]
    assert await count_rows(fresh_database_url, "schema_migrations") == len(applied)


async def test_only_missing_migrations_run_in_order(
    fresh_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0003_third.sql").write_text("INSERT INTO b VALUES (3);")
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE b (x int); INSERT INTO a VALUES (2);")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        first = await apply_migrations(conn, discover_migrations(tmp_path)[:1])
        rest = await apply_migrations(conn, discover_migrations(tmp_path))
        assert [m.label for m in first] == ["0001_first"]
        assert [m.label for m in rest] == ["0002_second", "0003_third"]
        assert await conn.fetchval("SELECT x FROM b") == 3
    finally:
        await conn.close()


async def test_failed_migration_rolls_back_and_says_which(
    fresh_database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE a (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE c (x int); SELECT * FROM missing;")
    conn = await asyncpg.connect(fresh_database_url)
    try:
        with pytest.raises(MigrationError, match="0002_bad") as info:
            await apply_migrations(conn, discover_migrations(tmp_path))
        assert "\n" not in str(info.value)
        versions = await conn.fetch("SELECT version FROM schema_migrations")
        assert [r["version"] for r in versions] == [1]
        assert await conn.fetchval("SELECT to_regclass('c')") is None
        # The lock was released: another runner gets through.
        assert await apply_migrations(conn, discover_migrations(tmp_path)[:1]) == []
    finally:
        await conn.close()


def test_migration_files_must_be_numbered(tmp_path: Path) -> None:
    (tmp_path / "first.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name"):
        discover_migrations(tmp_path)
    (tmp_path / "first.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share version"):
        discover_migrations(tmp_path)


# -- connecting -----------------------------------------------------------------------------


async def test_unreachable_database_is_one_line_without_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:hunter2@/postgres?host={tmp_path}"
    with pytest.raises(DatabaseUnavailableError) as info:
        await Store.open(url, timeout=2)
    message = str(info.value)
    assert "hunter2" not in message
    assert "\n" not in message
    assert "someone:***@" in message


# -- exchanges ------------------------------------------------------------------------------


async def test_exchanges_add_list_get(store: Store) -> None:
    mill = await store.add_exchange("MILL", "Millbrook", "31")
    oak = await store.add_exchange(
        "OAK",
        "Oakridge",
        "32",
        mode="manual",
        trunk_uris=["sip:oak-gw.county.test;transport=tcp", "sip:192.0.2.7:5060"],
    )
    assert mill.mode == "automated" and mill.is_local and mill.created_at
    assert oak.trunk_uris == ("sip:oak-gw.county.test;transport=tcp", "sip:192.0.2.7:5060")
    assert not oak.is_local
    assert [e.code for e in await store.list_exchanges()] == ["MILL", "OAK"]
    assert await store.get_exchange("OAK") == oak
    assert await store.get_exchange("NOPE") is None


async def test_exchange_errors(store: Store) -> None:
    await store.add_exchange("MILL", "Millbrook", "31")
    with pytest.raises(DuplicateExchangeError, match="MILL"):
        await store.add_exchange("MILL", "Millbrook again", "39")
    with pytest.raises(DuplicatePrefixError, match="31"):
        await store.add_exchange("OAK", "Oakridge", "31")
    for code, prefix, mode, trunks in [
        ("mill", "33", "automated", []),
        ("OAK", "3a", "automated", []),
        ("OAK", "33", "robotic", []),
        ("OAK", "33", "automated", ["http://example.test"]),
    ]:
        with pytest.raises(InvalidValueError):
            await store.add_exchange(code, "Oakridge", prefix, mode=mode, trunk_uris=trunks)
    assert [e.code for e in await store.list_exchanges()] == ["MILL"]


# -- lines ----------------------------------------------------------------------------------


async def test_lines_add_list_get_remove(store: Store) -> None:
    await store.add_exchange("MILL", "Millbrook", "31")
    await store.add_exchange("OAK", "Oakridge", "32", mode="manual")
    added = await store.add_line("3101", "MILL", "Ann Baker", *ha1s("3101", "pw1"))
    await store.add_line("3102", "MILL", None, *ha1s("3102", "pw2"), line_class="business")
    await store.add_line("3201", "OAK", "Post office", jack_label="A-14")
    assert added.number == "3101" and added.display_name == "Ann Baker"
    assert added.line_class == "residential" and added.has_credentials
    assert await store.get_line("3101") == added
    assert await store.get_line("9999") is None
    assert [line.number for line in await store.list_lines()] == ["3101", "3102", "3201"]
    assert [line.number for line in await store.list_lines("MILL")] == ["3101", "3102"]
    manual = (await store.list_lines("OAK"))[0]
    assert manual.jack_label == "A-14" and not manual.has_credentials

    await store.remove_line("3102")
    assert await store.get_line("3102") is None
    with pytest.raises(UnknownLineError, match="3102"):
        await store.remove_line("3102")


async def test_line_errors(store: Store) -> None:
    await store.add_exchange("MILL", "Millbrook", "31")
    await store.add_line("3101", "MILL")
    with pytest.raises(DuplicateLineError, match="3101"):
        await store.add_line("3101", "MILL")
    with pytest.raises(UnknownExchangeError, match="NOPE"):
        await store.add_line("3199", "NOPE")
    with pytest.raises(UnknownExchangeError, match="NOPE"):
        await store.list_lines("NOPE")
    with pytest.raises(InvalidValueError):
        await store.add_line("31-01", "MILL")
    with pytest.raises(InvalidValueError):
        await store.add_line("3102", "MILL", line_class="VIP!")
    assert await store.list_lines("MILL") != []


async def test_credentials_are_hashes_never_the_password(
    store: Store, fresh_database_url: str
) -> None:
    await store.add_exchange("MILL", "Millbrook", "31")
    md5, sha256 = ha1s("3101", "correct horse")
    line = await store.add_line("3101", "MILL", "Ann", md5, sha256)
    assert md5 not in repr(line) and sha256 not in repr(line)
    assert await store.load_credentials() == {"3101": (md5, sha256)}

    # A password where a hash belongs is refused, by the store and by the schema itself.
    with pytest.raises(InvalidValueError):
        await store.add_line("3102", "MILL", None, "correct horse", sha256)
    conn = await asyncpg.connect(fresh_database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO lines (number, exchange_code, ha1_md5, ha1_sha256)"
                " VALUES ('3103', 'MILL', 'correct horse', 'correct horse')"
            )
        dump = await conn.fetchval("SELECT string_agg(row_to_json(l)::text, '') FROM lines l")
    finally:
        await conn.close()
    assert "correct horse" not in dump

    await store.add_line("3104", "MILL")  # no credentials: not in the cache
    new_md5, new_sha256 = ha1s("3101", "battery staple")
    await store.set_line_credentials("3101", new_md5, new_sha256)
    assert await store.load_credentials() == {"3101": (new_md5, new_sha256)}
    with pytest.raises(UnknownLineError):
        await store.set_line_credentials("3999", new_md5, new_sha256)


async def test_lines_and_credentials_as_a_node_keeps_them(store: Store) -> None:
    numbers = await network(store, 2)
    await store.add_line("3150", "MILL", line_class="payphone", jack_label="A-1")
    lines = await store.load_routing_lines()
    assert [line.number for line in lines] == [*numbers, "3150"]
    assert lines[2].line_class == "payphone" and lines[2].jack_label == "A-1"
    assert all(line.ha1_md5 is None and line.created_at is None for line in lines)
    assert lines[0].exchange_code is lines[1].exchange_code  # one string for all

    own = {line.number: line.number for line in lines}
    digests = await store.load_ha1_digests(own)
    assert digests == {n: pack_ha1s(*ha1s(n, "secret")) for n in numbers}  # 3150 has none
    assert all(any(key is number for number in own) for key in digests)


# -- bindings -------------------------------------------------------------------------------


async def test_location_as_a_node_keeps_it(store: Store) -> None:
    a, b = await network(store, 2)
    now = time.time()
    await store.write_bindings(a, [binding(a, "sip:a1@h", q=0.5), binding(a, "sip:a2@h")], [])
    await store.write_bindings(b, [binding(b, "sip:b1@h", user_agent="Phone 1.0")], [])
    own = {a: "".join(["31", "00"])}
    kept = await store.load_location(now, own)
    stored = await store.load_bindings(now)
    assert kept == [dataclasses.replace(x, updated_at=None) for x in stored]
    assert kept[0].line_number is own[a] and kept[1].line_number is own[a]
    assert kept[0].source_host is kept[2].source_host  # repeated values shared


async def test_binding_round_trip(store: Store) -> None:
    (line,) = await network(store)
    now = time.time()
    written = binding(
        line,
        "sip:3100@192.0.2.10:5062;transport=tcp",
        expires_at=now + 600.25,
        q=0.8,
        source_transport="tcp",
        source_port=40123,
        local_port=5061,
        instance_id='"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>"',
        reg_id=1,
        user_agent="Yealink SIP-T46S",
        path=("<sip:edge.county.test;lr>", '<sip:[2001:db8::1];lr;x="a,b">'),
        cseq=42,
    )
    await store.write_bindings(line, [written], [])
    (loaded,) = await store.load_bindings(now)
    assert loaded.updated_at is not None and abs(loaded.updated_at - now) < 60
    assert loaded.expires_at == pytest.approx(written.expires_at, abs=1e-5)
    assert loaded.q == 0.8
    same = dataclasses.replace(loaded, updated_at=None, expires_at=written.expires_at)
    assert same == written


async def test_binding_refresh_remove_and_remove_all(store: Store) -> None:
    a, b = await network(store, 2)
    now = time.time()
    await store.write_bindings(a, [binding(a, "sip:a1@h"), binding(a, "sip:a2@h")], [])
    await store.write_bindings(b, [binding(b, "sip:b1@h")], [])
    await store.write_bindings(a, [binding(a, "sip:a1@h", cseq=2, q=0.5)], ["sip:a2@h"])
    (a1,) = await store.load_bindings(now, line=a)
    assert (a1.contact, a1.cseq, a1.q) == ("sip:a1@h", 2, 0.5)

    await store.remove_all_bindings(a)
    assert [x.key for x in await store.load_bindings(now)] == [(b, "sip:b1@h")]
    await store.write_bindings(b, [], ["sip:not-there@h"])  # removing nothing is fine


async def test_expiry(store: Store) -> None:
    a, b = await network(store, 2)
    now = time.time()
    await store.write_bindings(a, [binding(a, "sip:old@h", expires_at=now - 1)], [])
    await store.write_bindings(a, [binding(a, "sip:new@h", expires_at=now + 60)], [])
    await store.write_bindings(b, [binding(b, "sip:soon@h", expires_at=now + 5)], [])
    assert {x.contact for x in await store.load_bindings(now)} == {"sip:new@h", "sip:soon@h"}
    assert await store.delete_expired_bindings(now) == [(a, "sip:old@h")]
    assert sorted(await store.delete_expired_bindings(now + 10)) == [(b, "sip:soon@h")]
    assert await store.delete_expired_bindings(now + 10) == []
    assert [x.contact for x in await store.load_bindings(now)] == ["sip:new@h"]


async def test_removing_a_line_removes_its_bindings(store: Store) -> None:
    (line,) = await network(store)
    await store.write_bindings(line, [binding(line, "sip:x@h")], [])
    await store.remove_line(line)
    assert await store.load_bindings(time.time()) == []
    with pytest.raises(UnknownLineError):
        await store.write_bindings(line, [binding(line, "sip:x@h")], [])


async def test_write_bindings_rejects_misuse(store: Store) -> None:
    (line,) = await network(store)
    with pytest.raises(InvalidValueError):
        await store.write_bindings(line, [binding("3999", "sip:x@h")], [])
    with pytest.raises(InvalidValueError):
        await store.write_bindings(line, [binding(line, "sip:x@h")], ["sip:x@h"])


async def test_group_commit_batches_and_is_durable(store: Store, fresh_database_url: str) -> None:
    lines = await network(store, 50)
    before = store.writer_stats
    writes = [
        store.write_bindings(line, [binding(line, f"sip:{line}-{n}@192.0.2.1:{5000 + n}")], [])
        for line in lines
        for n in range(10)
    ]
    await asyncio.gather(*writes)
    stats = store.writer_stats
    calls = stats.calls - before.calls
    transactions = stats.transactions - before.transactions
    assert calls == 500
    assert transactions <= 25, f"{calls} writes took {transactions} transactions"
    assert stats.failures == before.failures
    assert await count_rows(fresh_database_url, "bindings") == 500


@pytest.mark.parametrize("rows", [1, 5, VALUES_ROWS, VALUES_ROWS + 1])
async def test_a_batch_of_any_size_is_stored_as_written(store: Store, rows: int) -> None:
    """Batches up to VALUES_ROWS pass each value as a parameter of its own, larger ones an
    array per column: either way every field is stored as it was written."""
    lines = await network(store, rows)
    now = time.time()
    written = [
        binding(
            line,
            f"sip:{line}@192.0.2.{i + 1}:{5060 + i};transport=tcp",
            expires_at=now + 600.25 + i,
            q=(1.0, 0.5, 0.25)[i % 3],
            cseq=i + 1,
            source_transport=("udp", "tcp")[i % 2],
            source_port=40000 + i,
            local_port=5060 + i % 2,
            instance_id=f'"<urn:uuid:00000000-0000-1000-8000-{i:012d}>"' if i % 3 == 0 else None,
            reg_id=i if i % 3 == 0 else None,
            user_agent=None if i % 4 == 1 else f'Phone "{i}" \\ é',
            path=("<sip:edge.county.test;lr>", '<sip:[2001:db8::1];lr;x="a,b">') if i % 2 else (),
        )
        for i, line in enumerate(lines)
    ]
    before = store.writer_stats
    await asyncio.gather(*(store.write_bindings(b.line_number, [b], []) for b in written))
    assert store.writer_stats.transactions - before.transactions == 1  # one batch
    loaded = await store.load_bindings(now)
    assert [x.expires_at for x in loaded] == pytest.approx([b.expires_at for b in written])
    assert [dataclasses.replace(x, updated_at=None, expires_at=0.0) for x in loaded] == [
        dataclasses.replace(b, expires_at=0.0) for b in written
    ]
    # asyncpg prepares a statement longer than 15 KB again for every batch
    assert len(upsert_statement(VALUES_ROWS)) < 15 * 1024


async def test_the_writer_gets_a_new_connection_when_its_own_is_cut(
    store: Store, fresh_database_url: str
) -> None:
    [line] = await network(store, 1)
    await store.write_bindings(line, [binding(line, "sip:a@192.0.2.1")], [])
    conn = await asyncpg.connect(fresh_database_url)
    try:  # the writer keeps its connection between batches: cut it, as a restart would
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND query LIKE '%INSERT INTO bindings%'"
        )
    finally:
        await conn.close()
    assert killed == 1
    await asyncio.sleep(0.2)  # the store hears its connection close
    await store.write_bindings(line, [binding(line, "sip:b@192.0.2.1")], [])
    await store.write_bindings(line, [], ["sip:a@192.0.2.1"])
    assert [b.contact for b in await store.load_bindings(time.time())] == ["sip:b@192.0.2.1"]
    assert store.writer_stats.failures == 0


async def test_batch_keeps_call_order(store: Store, fresh_database_url: str) -> None:
    a, b = await network(store, 2)
    results = await asyncio.gather(
        store.write_bindings(a, [binding(a, "sip:x@h", cseq=1)], []),
        store.write_bindings(a, [], ["sip:x@h"]),
        store.write_bindings(a, [binding(a, "sip:x@h", cseq=3)], []),
        store.write_bindings(b, [binding(b, "sip:y@h")], []),
        store.remove_all_bindings(b),
        store.write_bindings(b, [binding(b, "sip:z@h")], []),
        store.write_bindings(a, [binding(a, "sip:w@h")], []),
        store.write_bindings(a, [], ["sip:w@h"]),
    )
    assert results == [None] * 8
    loaded = {x.key: x for x in await store.load_bindings(time.time())}
    assert set(loaded) == {(a, "sip:x@h"), (b, "sip:z@h")}
    assert loaded[(a, "sip:x@h")].cseq == 3


async def test_a_refused_change_fails_only_its_caller(store: Store) -> None:
    lines = await network(store, 20)
    before = store.writer_stats
    good = [store.write_bindings(line, [binding(line, f"sip:{line}@h")], []) for line in lines]
    bad_line = store.write_bindings("3999", [binding("3999", "sip:ghost@h")], [])
    bad_value = store.write_bindings(lines[0], [binding(lines[0], "sip:q@h", q=7.0)], [])
    results = await asyncio.gather(
        *good[:10], bad_line, bad_value, *good[10:], return_exceptions=True
    )
    assert isinstance(results[10], UnknownLineError)
    assert isinstance(results[11], InvalidValueError)
    assert "\n" not in str(results[11])
    assert [r for i, r in enumerate(results) if i not in (10, 11)] == [None] * 20
    assert len(await store.load_bindings(time.time())) == 20
    stats = store.writer_stats
    assert stats.failures - before.failures == 2
    assert stats.retries > before.retries


async def test_close_commits_queued_writes(fresh_database_url: str) -> None:
    store = await Store.open(fresh_database_url)
    await store.migrate()
    lines = await network(store, 5)
    tasks = [
        asyncio.create_task(store.write_bindings(line, [binding(line, f"sip:{line}@h")], []))
        for line in lines
    ]
    await asyncio.sleep(0)
    await store.close()
    assert all(task.done() and task.exception() is None for task in tasks)
    assert await count_rows(fresh_database_url, "bindings") == 5
    with pytest.raises(StoreClosedError):
        await store.write_bindings(lines[0], [binding(lines[0], "sip:late@h")], [])


async def test_sustains_thousands_of_writes_per_second(store: Store) -> None:
    lines = await network(store, 100)
    total = 5000
    rounds = 10
    per_round = total // rounds
    started = time.perf_counter()
    for r in range(rounds):
        await asyncio.gather(
            *(
                store.write_bindings(
                    lines[i % 100], [binding(lines[i % 100], f"sip:{i}@h", cseq=r)], []
                )
                for i in range(r * per_round, (r + 1) * per_round)
            )
        )
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"{total} writes took {elapsed:.2f}s"
    assert len(await store.load_bindings(time.time())) == total


# -- notifications --------------------------------------------------------------------------


async def test_line_changes_are_heard_in_order_and_after_a_lost_connection(
    store: Store, fresh_database_url: str
) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    resynced = asyncio.Event()

    async def changed(number: str) -> None:
        await heard.put(number)

    await store.listen_lines(changed, on_resync=resynced.set)
    other = await Store.open(fresh_database_url)  # another process, as far as the store knows
    try:
        await other.add_exchange("MILL", "Millbrook", "31")
        await other.add_line("3101", "MILL")
        await other.add_line("3102", "MILL")
        await other.set_line_credentials("3101", *ha1s("3101", "pw"))
        await other.remove_line("3102")
        got = [await asyncio.wait_for(heard.get(), 5) for _ in range(4)]
        assert got == ["3101", "3102", "3101", "3102"]

        conn = await asyncpg.connect(fresh_database_url)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        finally:
            await conn.close()
        assert killed == 1
        await asyncio.wait_for(resynced.wait(), 10)
        await other.add_line("3103", "MILL")
        assert await asyncio.wait_for(heard.get(), 5) == "3103"
    finally:
        await other.close()


async def test_a_statement_s_binding_changes_are_heard_together(
    store: Store, fresh_database_url: str
) -> None:
    """One notification per statement, "<node> <line>,<line>,...", each line once, split so
    that none reaches pg_notify's 8000 bytes: here a node name of 7,950 bytes leaves room for
    a few lines in each."""
    lines = await network(store, 40)
    heard: asyncio.Queue[str] = asyncio.Queue()
    await store.listen_bindings(heard.put_nowait)
    node = "node " + "n" * 7945
    writer = await Store.open(fresh_database_url, node=node)
    try:
        before = writer.writer_stats
        await asyncio.gather(
            *(writer.write_bindings(line, [binding(line, f"sip:{line}@h")], []) for line in lines),
            writer.write_bindings(lines[0], [binding(lines[0], "sip:second@h")], []),
        )
        assert writer.writer_stats.transactions - before.transactions == 1
        payloads = [await asyncio.wait_for(heard.get(), 5)]
        while sum(p.count(",") + 1 for p in payloads) < len(lines):
            payloads.append(await asyncio.wait_for(heard.get(), 5))
        assert len(payloads) > 1
        assert all(len(p.encode()) < 8000 for p in payloads)
        named = [binding_notice(p) for p in payloads]
        assert {writer for writer, _ in named} == {node}
        assert sorted(line for _, some in named for line in some) == lines

        await writer.write_bindings(lines[1], [], [f"sip:{lines[1]}@h"])  # a delete
        assert await asyncio.wait_for(heard.get(), 5) == f"{node} {lines[1]}"
        await writer.write_bindings(lines[2], [binding(lines[2], f"sip:{lines[2]}@h")], [])
        assert await asyncio.wait_for(heard.get(), 5) == f"{node} {lines[2]}"  # an update
        assert heard.empty()
    finally:
        await writer.close()
