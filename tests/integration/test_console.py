"""The operator console in a real browser (headless Chromium driven by Playwright), against the
real aiohttp application and a real queue service on PostgreSQL. The SIP side is replaced by
actions that record what they were asked.

The last test takes a screenshot of the console with calls waiting; with
SOFTSWITCH_CONSOLE_SCREENSHOT=docs/console.png it renews the README's picture.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from softswitch.store import Store
from tests.console.harness import PASSWORDS, RunningConsole, running_console

from .conftest import VIEWPORT

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, WebSocketRoute

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def console(store: Store) -> AsyncIterator[RunningConsole]:
    async with running_console(store) as running:
        yield running


def expect(target: Any) -> Any:
    from playwright.async_api import expect as playwright_expect

    return playwright_expect(target)


async def open_console(browser: Browser, console: RunningConsole) -> Page:
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(console.url)
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    return page


async def sign_in(page: Page, login: str, password: str | None = None) -> None:
    await page.get_by_label("Login").fill(login)
    await page.get_by_label("Password").fill(password or PASSWORDS[login])
    await page.get_by_role("button", name="Sign in").click()


async def signed_in(browser: Browser, console: RunningConsole, login: str) -> Page:
    page = await open_console(browser, console)
    await sign_in(page, login)
    await expect(page.locator("#link-state")).to_have_text("live")
    return page


def queue_row(page: Page, text: str) -> Any:
    return page.locator("#queue-body tr", has_text=text)


async def api_from_page(page: Page, method: str, path: str, body: Any = None) -> Any:
    """A request made by the page's own JavaScript, with its cookies and the console header."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const options = {method, headers: {"X-Console": "1"}};
            if (body !== null) {
                options.headers["Content-Type"] = "application/json";
                options.body = JSON.stringify(body);
            }
            const response = await fetch(path, options);
            return {status: response.status, body: await response.json()};
        }""",
        [method, path, body],
    )


class HeldBack:
    """Holds back what the server pushes to a page, as a slow network would: the page keeps
    showing the queue as it was until `release()`."""

    def __init__(self) -> None:
        self.holding = False
        self._held: list[tuple[WebSocketRoute, str | bytes]] = []

    async def install(self, page: Page) -> None:
        await page.route_web_socket("**/ws", self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        server.on_message(lambda message: self._deliver(ws, message))

    def _deliver(self, ws: WebSocketRoute, message: str | bytes) -> None:
        if self.holding:
            self._held.append((ws, message))
        else:
            ws.send(message)

    def release(self) -> None:
        self.holding = False
        for ws, message in self._held:
            ws.send(message)
        self._held.clear()


async def test_wrong_password_is_refused_and_the_right_one_signs_in(
    browser: Browser, console: RunningConsole
) -> None:
    page = await open_console(browser, console)
    await sign_in(page, "alice", "not-alices-password")
    await expect(page.get_by_role("alert").first).to_have_text("wrong login or password")
    await expect(page.locator("#console-view")).to_be_hidden()
    assert await page.context.cookies() == []

    await sign_in(page, "alice")
    await expect(page.locator("#console-view")).to_be_visible()
    await expect(page.locator("#me-name")).to_have_text("Alice Moore")
    await expect(page.locator("#me-line")).to_have_text("line 5551101")
    await expect(page.locator("#me-state")).to_have_text("available")
    cookie = (await page.context.cookies())[0]
    assert cookie["name"] == "console_session"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    await page.reload()  # the session outlives a reload
    await expect(page.locator("#me-name")).to_have_text("Alice Moore")
    await page.context.close()


async def test_a_queued_call_appears_within_a_second_ticks_and_is_taken(
    browser: Browser, console: RunningConsole
) -> None:
    page = await signed_in(browser, console, "alice")
    await expect(page.locator("#queue-empty")).to_be_visible()

    started = time.monotonic()
    call = await console.enqueue(caller_display="Mrs. Hale")
    row = queue_row(page, "Mrs. Hale")
    await expect(row).to_be_visible(timeout=1000)
    assert time.monotonic() - started < 1.0
    cells = await row.locator("td").all_inner_texts()
    assert cells[:5] == ["normal", "Mrs. Hale (5551001)", "5553001", "CED", "C-01"]
    await expect(page.locator("#queue-count")).to_have_text("1")

    wait = row.locator("td.wait")
    first = await wait.inner_text()
    await expect(wait).not_to_have_text(first, timeout=2500)  # the wait time ticks

    await page.keyboard.press("t")
    await expect(page.locator("#cur-caller")).to_have_text("Mrs. Hale (5551001)")
    await expect(page.locator("#cur-jack")).to_have_text("C-01")
    await expect(page.locator("#me-state")).to_have_text("busy")
    await expect(row).to_have_count(0)
    assert console.actions.asked == [("take", call.id, "alice", None)]
    await page.context.close()


async def test_a_second_operator_is_refused_with_a_message(
    browser: Browser, console: RunningConsole
) -> None:
    alice = await signed_in(browser, console, "alice")
    bob = await signed_in(browser, console, "bob")
    valves = {}
    for name, page in (("alice", alice), ("bob", bob)):
        valves[name] = HeldBack()
        await valves[name].install(page)
        await page.reload()
        await expect(page.locator("#link-state")).to_have_text("live")

    call = await console.enqueue(caller_display="Mr. Grant")
    for page in (alice, bob):
        await expect(queue_row(page, "Mr. Grant")).to_be_visible(timeout=1000)
    for valve in valves.values():
        valve.holding = True  # both consoles go on showing the call as waiting
    await asyncio.gather(alice.keyboard.press("t"), bob.keyboard.press("t"))

    winner = None
    for _ in range(100):
        asked = [a for a in console.actions.asked if a[0] == "take"]
        messages = [await p.locator("#message").inner_text() for p in (alice, bob)]
        if asked and any("already taken" in m for m in messages):
            winner = asked[0][2]
            break
        await asyncio.sleep(0.05)
    assert winner is not None, (console.actions.asked, messages)
    assert console.actions.asked == [("take", call.id, winner, None)]
    loser_page = bob if winner == "alice" else alice
    await expect(loser_page.locator("#message")).to_have_text(
        f"Take: call {call.id} was already taken by {winner}"
    )
    await expect(loser_page.locator("#message")).to_have_class("message error")
    winner_page = alice if winner == "alice" else bob
    await expect(winner_page.locator("#cur-caller")).to_have_text("Mr. Grant (5551001)")

    for valve in valves.values():
        valve.release()
    await expect(queue_row(loser_page, "Mr. Grant")).to_have_count(0)
    for page in (alice, bob):
        await page.context.close()


async def test_api_and_websocket_refuse_a_page_without_a_session(
    browser: Browser, console: RunningConsole
) -> None:
    call = await console.enqueue()
    page = await open_console(browser, console)
    for method, path in (
        ("GET", "/api/me"),
        ("GET", "/api/calls"),
        ("GET", "/api/history"),
        ("POST", f"/api/calls/{call.id}/take"),
        ("POST", f"/api/calls/{call.id}/hangup"),
    ):
        answer = await api_from_page(page, method, path)
        assert answer == {"status": 401, "body": {"error": "not signed in"}}, path
    outcome = await page.evaluate(
        """() => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/ws`);
            ws.onopen = () => resolve("opened");
            ws.onclose = (event) => resolve(`closed ${event.code}`);
        })"""
    )
    assert outcome == "closed 1006"  # the handshake was refused (401)
    assert console.actions.asked == []
    await page.context.close()


async def test_one_operator_cannot_hang_up_anothers_call(
    browser: Browser, console: RunningConsole
) -> None:
    call = await console.enqueue(caller_display="Mrs. Hale")
    alice = await signed_in(browser, console, "alice")
    bob = await signed_in(browser, console, "bob")
    await queue_row(alice, "Mrs. Hale").get_by_role("button", name="Take call").click()
    await expect(alice.locator("#cur-caller")).to_have_text("Mrs. Hale (5551001)")
    await expect(queue_row(bob, "Mrs. Hale")).to_have_count(0)
    await expect(bob.get_by_role("button", name="Hang up")).to_be_disabled()

    answer = await api_from_page(bob, "POST", f"/api/calls/{call.id}/hangup")
    assert answer == {"status": 403, "body": {"error": f"call {call.id} is alice's, not yours"}}
    held = console.service.get(call.id)
    assert held is not None and held.operator == "alice" and held.state.value == "with_operator"
    assert [a[0] for a in console.actions.asked] == ["take"]

    await alice.keyboard.press("h")  # her own call she may hang up
    await expect(alice.locator("#current-none")).to_be_visible()
    await expect(alice.locator("#history-list li")).to_have_count(1)
    await expect(alice.locator("#history-list .outcome")).to_have_text("completed by the operator")
    assert console.actions.asked[-1] == ("hang_up", call.id, "alice", None)
    for page in (alice, bob):
        await page.context.close()


async def test_connect_through_the_directory(browser: Browser, console: RunningConsole) -> None:
    call = await console.enqueue(caller_display="Farm 12", dialed="5553000", line=None)
    page = await signed_in(browser, console, "alice")
    await expect(queue_row(page, "Farm 12")).to_be_visible()
    await page.keyboard.press("t")
    await expect(page.locator("#cur-caller")).to_have_text("Farm 12 (5551001)")
    await page.keyboard.press("c")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Search the directory").fill("surgery")
    results = dialog.get_by_role("option")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Dr. Whitfield, surgery")
    await dialog.get_by_label("Search the directory").press("Enter")
    await expect(dialog.get_by_label("Number to connect to")).to_have_value("5553002")
    await dialog.get_by_role("button", name="Connect").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#cur-state")).to_have_text("connecting")
    assert console.actions.asked[-1] == ("connect", call.id, "alice", "5553002")

    await console.service.mark_connected(call.id)  # the SIP side reports the answer
    await expect(page.locator("#current-none")).to_be_visible()
    await expect(page.locator("#me-state")).to_have_text("available")
    note = page.get_by_label("Note for the call from Farm 12 (5551001)")
    await expect(page.locator("#history-list .outcome")).to_have_text("connected to 5553002")
    await note.fill("wanted the doctor")
    await note.press("Enter")
    await expect(page.locator("#message")).to_have_text("Note saved.")
    await page.context.close()


async def test_pause_and_resume_from_the_keyboard(
    browser: Browser, console: RunningConsole
) -> None:
    page = await signed_in(browser, console, "bob")
    await page.get_by_label("Pause reason").select_option("meal")
    await page.locator("body").click()
    await page.keyboard.press("p")
    await expect(page.locator("#me-state")).to_have_text("paused: meal")
    position = console.service.position("bob")
    assert position is not None and position.state.value == "paused"
    await page.keyboard.press("a")
    await expect(page.locator("#me-state")).to_have_text("available")
    await page.context.close()


async def test_logout(browser: Browser, console: RunningConsole) -> None:
    page = await signed_in(browser, console, "bob")
    session = (await page.context.cookies())[0]["value"]
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.locator("#login-error")).to_have_text("Signed out.")
    await expect(page.locator("#console-view")).to_be_hidden()
    assert await page.context.cookies() == []
    answer = await api_from_page(page, "GET", "/api/me")
    assert answer["status"] == 401
    async with (
        aiohttp.ClientSession(console.url, cookies={"console_session": session}) as http,
        http.get("/api/me") as response,
    ):
        assert response.status == 401  # the old session id is dead, not just forgotten
    position = console.service.position("bob")
    assert position is not None and position.state.value == "offline"
    await page.context.close()


async def test_screenshot_of_the_console_with_calls_waiting(
    browser: Browser, console: RunningConsole, tmp_path: Path
) -> None:
    now = time.time()
    page = await signed_in(browser, console, "alice")
    done = await console.enqueue(caller_display="Ashford library", now=now - 600)
    await expect(queue_row(page, "Ashford library")).to_be_visible()
    await api_from_page(page, "POST", f"/api/calls/{done.id}/take")
    await api_from_page(page, "POST", f"/api/calls/{done.id}/connect", {"number": "5553001"})
    await console.service.mark_connected(done.id)
    await expect(page.locator("#history-list li")).to_have_count(1)
    await api_from_page(page, "POST", f"/api/calls/{done.id}/note", {"note": "parcel notice"})

    waiting = [
        ("Mrs. Hale", "5551001", "5553001", "5553001", 0, 134),
        ("Bob's garage", "5552001", "5553003", "5553003", 0, 71),
        ("Farm 12", "5552002", "5553002", "5553002", 9, 12),
        ("Ashford school", "5551001", "5553001", "5553001", 0, 38),
    ]
    calls = []
    for name, caller, dialed, line, priority, waited in waiting:
        calls.append(
            await console.enqueue(
                caller_display=name,
                caller=caller,
                dialed=dialed,
                line=line,
                priority=priority,
                now=now - waited,
            )
        )
    in_hand = await console.enqueue(caller_display="Mr. Grant", dialed="5553003", line="5553003")
    await expect(page.locator("#queue-body tr")).to_have_count(5)
    await queue_row(page, "Mr. Grant").get_by_role("button", name="Take call").click()
    await expect(page.locator("#cur-caller")).to_have_text("Mr. Grant (5551001)")
    await expect(page.locator("#queue-body tr")).to_have_count(4)
    await expect(page.locator("#queue-body tr").first).to_have_class("emergency")
    await expect(page.locator("#alert")).to_contain_text("Emergency call from Farm 12")
    await expect(page.locator("#st-offered")).to_have_text("6")
    await page.get_by_label("Note for the call from Ashford library (5551001)").fill(
        "parcel notice"
    )
    await page.locator("#queue-body tr").nth(1).click()
    assert in_hand.id in [a[1] for a in console.actions.asked]

    wanted = os.environ.get("SOFTSWITCH_CONSOLE_SCREENSHOT")
    path = ROOT / wanted if wanted else tmp_path / "console.png"
    await page.screenshot(path=str(path))
    await page.context.close()
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
