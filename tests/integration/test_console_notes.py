"""The operator's note on a call is kept with the call's record: typed in the console's history
(before or after the record is written), shown again after a reload, and by `softswitch cdr
list` / `cdr show`. Real PostgreSQL, the console's HTTP API."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from softswitch.cli.main import main
from softswitch.proxy.records import CallNotes
from softswitch.store import CallRecord, Store
from tests.console.harness import PASSWORDS, RunningConsole, running_console

pytestmark = pytest.mark.integration

CSRF = {"X-Console": "1"}


@pytest.fixture
async def console(store: Store) -> AsyncIterator[RunningConsole]:
    async with running_console(store, notes=CallNotes(store)) as running:
        yield running


async def sign_in(http: aiohttp.ClientSession, login: str) -> None:
    body = {"login": login, "password": PASSWORDS[login]}
    async with http.post("/api/login", json=body, headers=CSRF) as response:
        assert response.status == 200, await response.text()


async def post(http: aiohttp.ClientSession, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.post(path, json=body, headers=CSRF) as response:
        return response.status, await response.json()


async def history(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    async with http.get("/api/history") as response:
        assert response.status == 200
        return (await response.json())["calls"]


def record(call_id: str, **changes: Any) -> CallRecord:
    values: dict[str, Any] = {
        "call_id": call_id,
        "caller": "5551001",
        "dialed": "5553001",
        "number": "5553001",
        "route": "operator queue of CED",
        "started_at": 1_714_996_800.0,
        "answered_at": 1_714_996_810.0,
        "ended_at": 1_714_996_870.0,
        "disposition": "connected by operator",
        "status": 200,
        "node": "node-a",
        "note": "connected to 5553002",
    }
    values.update(changes)
    return CallRecord(**values)


async def cli(url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, [*argv, "--database-url", url])
    return code, capsys.readouterr().out


async def test_a_note_is_kept_with_the_call_record_and_shown_after_a_reload(
    console: RunningConsole,
    store: Store,
    fresh_database_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    call = await console.enqueue(caller_display="Mr. Grant")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(console.url, cookie_jar=jar) as http:
        await sign_in(http, "alice")
        assert (await post(http, f"/api/calls/{call.id}/take"))[0] == 200
        assert (await post(http, f"/api/calls/{call.id}/connect", {"number": "5553002"}))[0] == 200
        await console.service.mark_connected(call.id)
        # the note comes while the call is up: its record is not written yet
        status, _ = await post(http, f"/api/calls/{call.id}/note", {"note": " asked for Dr. W "})
        assert status == 200
    assert await store.call_notes([call.call_id]) == {call.call_id: "asked for Dr. W"}

    # the call ends and its record is written: the note is part of it
    store.record_cdr(record(call.call_id))
    await store.flush()
    (written,) = await store.list_cdrs(line="5553001")
    assert (written.operator_note, written.note_by) == ("asked for Dr. W", "alice")
    assert written.note == "connected to 5553002"  # the switchboard's own note stays

    # a reload of the page (a new session) shows it; so does a change made by another node
    await store.set_call_note(call.call_id, "alice", "asked for Dr. Ward, call back at 5")
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(console.url, cookie_jar=jar) as http:
        await sign_in(http, "alice")
        (seen,) = await history(http)
        assert seen["id"] == call.id and seen["note"] == "asked for Dr. Ward, call back at 5"
        # an empty note removes it
        assert (await post(http, f"/api/calls/{call.id}/note", {"note": ""}))[0] == 200
        assert (await history(http))[0]["note"] is None
    assert (await store.get_cdr(call.call_id))[0].operator_note is None

    await store.set_call_note(call.call_id, "alice", "asked for Dr. Ward, call back at 5")
    for name in ("SOFTSWITCH_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", None)
    code, out = await cli(fresh_database_url, capsys, "cdr", "list")
    assert code == 0
    header, row = out.splitlines()
    assert header.split()[-1] == "NOTE" and row.endswith("asked for Dr. Ward, call back at 5")
    code, out = await cli(fresh_database_url, capsys, "cdr", "list", "--format", "json")
    (listed,) = json.loads(out)
    assert (listed["operator_note"], listed["note_by"]) == (
        "asked for Dr. Ward, call back at 5",
        "alice",
    )
    code, out = await cli(fresh_database_url, capsys, "cdr", "show", call.call_id)
    assert code == 0
    shown = {line[:20].strip(): line[20:].strip() for line in out.splitlines()}
    assert shown["operator note"] == "asked for Dr. Ward, call back at 5"
    assert shown["note by"] == "alice" and shown["disposition"] == "connected by operator"
    code, out = await cli(
        fresh_database_url, capsys, "cdr", "show", str(written.id), "--format", "json"
    )
    assert json.loads(out)[0]["call_id"] == call.call_id
    code, _ = await cli(fresh_database_url, capsys, "cdr", "show", "no-such-call")
    assert code == 1


async def test_a_note_that_is_not_yours_is_refused(console: RunningConsole, store: Store) -> None:
    call = await console.enqueue()
    async with aiohttp.ClientSession(
        console.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as alice:
        await sign_in(alice, "alice")
        assert (await post(alice, f"/api/calls/{call.id}/take"))[0] == 200
        async with aiohttp.ClientSession(
            console.url, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as bob:
            await sign_in(bob, "bob")
            status, _ = await post(bob, f"/api/calls/{call.id}/note", {"note": "mine now"})
            assert status == 403
    assert await store.call_notes([call.call_id]) == {}
