"""The console's HTTP API and WebSocket without a browser: sessions, CSRF, the take race,
operators' calls kept apart, and every action reaching the queue service and the SIP side."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from softswitch.store import Store
from tests.console.harness import PASSWORDS, RunningConsole, running_console

pytestmark = pytest.mark.integration

CSRF = {"X-Console": "1"}


@pytest.fixture
async def console(store: Store) -> AsyncIterator[RunningConsole]:
    async with running_console(store) as running:
        yield running


@contextlib.asynccontextmanager
async def signed_in(console: RunningConsole, login: str) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for a bare IP address
    async with aiohttp.ClientSession(console.url, cookie_jar=jar) as http:
        async with http.post(
            "/api/login", json={"login": login, "password": PASSWORDS[login]}, headers=CSRF
        ) as response:
            assert response.status == 200, await response.text()
        yield http


async def post(http: aiohttp.ClientSession, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.post(path, json=body, headers=CSRF) as response:
        return response.status, await response.json()


async def get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as response:
        return response.status, await response.json()


async def test_login_sets_a_strict_http_only_cookie_and_makes_the_operator_available(
    console: RunningConsole,
) -> None:
    async with (
        aiohttp.ClientSession(console.url) as http,
        http.post(
            "/api/login", json={"login": "alice", "password": PASSWORDS["alice"]}, headers=CSRF
        ) as response,
    ):
        assert response.status == 200
        cookie = response.headers["Set-Cookie"]
        me = (await response.json())["me"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    session_id = cookie.split(";")[0].split("=", 1)[1]
    assert len(session_id) >= 43  # 32 random bytes, base64
    assert me["login"] == "alice" and me["name"] == "Alice Moore" and me["line"] == "5551101"
    assert me["state"] == "available"
    position = console.service.position("alice")
    assert position is not None and position.state.value == "available"


async def test_secure_cookies_when_configured(store: Store) -> None:
    async with (
        running_console(store, secure_cookies=True) as console,
        aiohttp.ClientSession(console.url) as http,
        http.post(
            "/api/login", json={"login": "bob", "password": PASSWORDS["bob"]}, headers=CSRF
        ) as response,
    ):
        assert response.status == 200
        assert "; Secure" in response.headers["Set-Cookie"]


async def test_wrong_password_and_unknown_login_are_refused_alike(console: RunningConsole) -> None:
    async with aiohttp.ClientSession(console.url) as http:
        for login, password in (("alice", "not-her-password"), ("nobody", "whatever-it-is")):
            async with http.post(
                "/api/login", json={"login": login, "password": password}, headers=CSRF
            ) as response:
                assert response.status == 401
                assert (await response.json())["error"] == "wrong login or password"
                assert "Set-Cookie" not in response.headers


async def test_repeated_failures_are_throttled(console: RunningConsole) -> None:
    async with aiohttp.ClientSession(console.url) as http:
        statuses = []
        for _ in range(6):
            async with http.post(
                "/api/login", json={"login": "bob", "password": "guess-guess"}, headers=CSRF
            ) as response:
                statuses.append(response.status)
        assert statuses == [401] * 5 + [429]


async def test_without_a_session_everything_is_refused(console: RunningConsole) -> None:
    call = await console.enqueue()
    async with aiohttp.ClientSession(console.url) as http:
        for path in ("/api/me", "/api/calls", "/api/history", "/api/stats", "/api/directory?q=1"):
            status, body = await get(http, path)
            assert status == 401, path
            assert body == {"error": "not signed in"}
        for path in (f"/api/calls/{call.id}/take", "/api/logout", "/api/me/state"):
            status, _ = await post(http, path, {})
            assert status == 401, path
        http.cookie_jar.update_cookies({"console_session": "forged-" + "x" * 40})
        assert (await get(http, "/api/me"))[0] == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect("/ws")
        assert refused.value.status == 401
    assert console.service.get(call.id) is not None
    assert console.service.get(call.id).state.value == "waiting"  # type: ignore[union-attr]
    assert console.actions.asked == []


async def test_state_changes_need_the_console_header(console: RunningConsole) -> None:
    call = await console.enqueue()
    async with signed_in(console, "alice") as http:
        async with http.post(f"/api/calls/{call.id}/take") as response:
            assert response.status == 403
            assert "X-Console" in (await response.json())["error"]
        async with http.post("/api/login", json={"login": "bob", "password": "x"}) as response:
            assert response.status == 403
    assert console.service.get(call.id).state.value == "waiting"  # type: ignore[union-attr]


async def test_websocket_refuses_another_origin(console: RunningConsole) -> None:
    async with signed_in(console, "alice") as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect("/ws", origin="http://evil.example")
        assert refused.value.status == 403
        ws = await http.ws_connect("/ws", origin=console.url)
        await ws.close()


async def test_of_two_racing_operators_exactly_one_takes_the_call(
    console: RunningConsole,
) -> None:
    call = await console.enqueue()
    async with signed_in(console, "alice") as alice, signed_in(console, "bob") as bob:
        results = await asyncio.gather(
            post(alice, f"/api/calls/{call.id}/take"), post(bob, f"/api/calls/{call.id}/take")
        )
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 409]
    winner = "alice" if results[0][0] == 200 else "bob"
    loser_body = next(body for status, body in results if status == 409)
    assert loser_body["error"] == f"call {call.id} was already taken by {winner}"
    assert console.actions.asked == [("take", call.id, winner, None)]
    taken = console.service.get(call.id)
    assert taken is not None and taken.operator == winner


async def test_operator_cannot_act_on_another_operators_call(console: RunningConsole) -> None:
    call = await console.enqueue()
    async with signed_in(console, "alice") as alice, signed_in(console, "bob") as bob:
        assert (await post(alice, f"/api/calls/{call.id}/take"))[0] == 200
        for path, body in (
            ("hangup", None),
            ("send-back", None),
            ("connect", {"number": "5553002"}),
            ("note", {"note": "mine now"}),
        ):
            status, answer = await post(bob, f"/api/calls/{call.id}/{path}", body)
            assert status == 403, path
            assert answer["error"] == f"call {call.id} is alice's, not yours" or path == "note"
    assert console.actions.asked == [("take", call.id, "alice", None)]
    held = console.service.get(call.id)
    assert held is not None and held.state.value == "with_operator" and held.operator == "alice"


async def test_take_connect_and_history_with_a_note(console: RunningConsole) -> None:
    call = await console.enqueue(caller_display="Mr. Grant")
    async with signed_in(console, "alice") as http:
        status, body = await get(http, "/api/calls")
        assert status == 200
        assert [c["id"] for c in body["calls"]] == [call.id]
        assert body["calls"][0]["jack"] == "C-01" and body["calls"][0]["caller_name"] == "Mr. Grant"

        assert (await post(http, f"/api/calls/{call.id}/take"))[0] == 200
        me = (await get(http, "/api/me"))[1]["me"]
        assert me["state"] == "busy" and me["call"]["id"] == call.id

        status, body = await post(http, f"/api/calls/{call.id}/connect", {"number": "bad number"})
        assert status == 400
        status, body = await post(http, f"/api/calls/{call.id}/connect", {"number": "5553002"})
        assert status == 200 and body["call"]["state"] == "connecting"
        assert console.actions.asked[-1] == ("connect", call.id, "alice", "5553002")
        await console.service.mark_connected(call.id)  # what the SIP side reports

        status, body = await post(http, f"/api/calls/{call.id}/note", {"note": "asked for Dr. W"})
        assert status == 200
        await asyncio.sleep(0.05)
        history = (await get(http, "/api/history"))[1]["calls"]
        assert [h["id"] for h in history] == [call.id]
        assert history[0]["outcome"] == "connected to 5553002"
        assert history[0]["note"] == "asked for Dr. W"
        me = (await get(http, "/api/me"))[1]["me"]
        assert me["state"] == "available" and me["call"] is None


async def test_send_back_hang_up_and_pause(console: RunningConsole) -> None:
    first = await console.enqueue()
    second = await console.enqueue(caller="5551001", dialed="5553003", line="5553003")
    async with signed_in(console, "bob") as http:
        assert (await post(http, f"/api/calls/{first.id}/take"))[0] == 200
        status, body = await post(http, f"/api/calls/{second.id}/take")
        assert status == 409 and body["error"] == "you cannot take a call while busy"
        status, body = await post(http, "/api/me/state", {"state": "paused", "reason": "tea"})
        assert status == 409 and body["error"] == "you cannot become paused while busy"

        status, body = await post(http, f"/api/calls/{first.id}/send-back")
        assert status == 200 and body["call"]["state"] == "waiting"
        assert (await post(http, f"/api/calls/{second.id}/take"))[0] == 200
        status, body = await post(http, f"/api/calls/{second.id}/hangup")
        assert status == 200 and body["call"]["state"] == "completed"
        status, body = await post(http, f"/api/calls/{second.id}/hangup")
        assert status == 404

        status, body = await post(http, "/api/me/state", {"state": "paused", "reason": "tea"})
        assert status == 200 and body["me"]["state"] == "paused" and body["me"]["reason"] == "tea"
        status, body = await post(http, "/api/me/state", {"state": "available"})
        assert status == 200 and body["me"]["state"] == "available"
    assert [a[0] for a in console.actions.asked] == ["take", "send_back", "take", "hang_up"]


async def test_a_phone_that_cannot_be_rung_sends_the_call_back(console: RunningConsole) -> None:
    console.actions.failing["take"] = "no phone registered for line 5551101"
    call = await console.enqueue()
    async with signed_in(console, "alice") as http:
        status, body = await post(http, f"/api/calls/{call.id}/take")
        assert status == 502
        assert body["error"] == "your phone could not be rung: no phone registered for line 5551101"
    back = console.service.get(call.id)
    assert back is not None and back.state.value == "waiting" and back.operator is None


async def test_directory_search(console: RunningConsole) -> None:
    async with signed_in(console, "alice") as http:
        status, body = await get(http, "/api/directory?q=c-02")
        assert status == 200
        assert body["results"] == [
            {
                "number": "5553002",
                "name": "Dr. Whitfield, surgery",
                "exchange": "CED",
                "exchange_name": None,
                "jack": "C-02",
            }
        ]
        assert len((await get(http, "/api/directory?q=cedar"))[1]["results"]) == 2
        assert (await get(http, "/api/directory?q="))[1]["results"] == []


async def test_websocket_snapshot_then_changes_and_emergency_alert(
    console: RunningConsole,
) -> None:
    first = await console.enqueue()
    async with signed_in(console, "alice") as http:
        ws = await http.ws_connect("/ws")
        snapshot = await ws.receive_json(timeout=2)
        assert snapshot["type"] == "snapshot"
        assert [c["id"] for c in snapshot["calls"]] == [first.id]
        assert snapshot["me"]["login"] == "alice" and "server_time" in snapshot

        urgent = await console.enqueue(priority=9, caller_display="Farm 12")
        seen: dict[str, Any] = {}
        while "alert" not in seen or "call" not in seen:
            message = await ws.receive_json(timeout=2)
            seen.setdefault(message["type"], message)
        assert seen["call"]["call"]["id"] == urgent.id and seen["call"]["call"]["emergency"]
        assert seen["alert"]["message"] == "Emergency call from Farm 12 for 5553001 (CED C-01)"

        await post(http, "/api/logout")
        closed = await ws.receive(timeout=2)
        while closed.type == aiohttp.WSMsgType.TEXT:
            closed = await ws.receive(timeout=2)
        assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401  # signed out
        await ws.close()


async def test_logout_ends_the_session(console: RunningConsole) -> None:
    async with signed_in(console, "bob") as http:
        assert (await get(http, "/api/me"))[0] == 200
        status, _ = await post(http, "/api/logout")
        assert status == 200
        assert (await get(http, "/api/me"))[0] == 401
    position = console.service.position("bob")
    assert position is not None and position.state.value == "offline"
