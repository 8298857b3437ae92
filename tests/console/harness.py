"""A running console for tests: a real queue service on the test database, the real aiohttp
application on 127.0.0.1 (a free port), and SIP actions that only record what was asked."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from softswitch.queue import Position, QueueCall, QueueService, add_operator
from softswitch.store import Store
from softswitch.web import ConsoleApp, StoreAccounts, console_port, start_console, stop_console

PASSWORDS = {"alice": "alice-at-the-board", "bob": "bob-at-the-board"}

DIRECTORY = [
    {"number": "5553001", "name": "Cedar Falls post office", "exchange": "CED", "jack": "C-01"},
    {"number": "5553002", "name": "Dr. Whitfield, surgery", "exchange": "CED", "jack": "C-02"},
    {"number": "5553003", "name": "Cedar Falls mill", "exchange": "CED", "jack": "C-03"},
    {"number": "5551001", "name": "Ashford library", "exchange": "ASH", "jack": None},
]


def search_directory(query: str) -> list[dict[str, Any]]:
    q = query.lower()
    return [
        entry
        for entry in DIRECTORY
        if any(q in str(value).lower() for value in entry.values() if value)
    ]


@dataclass
class RecordingActions:
    """The SIP side, faked: each request is recorded as (action, call id, operator, number)."""

    asked: list[tuple[str, int, str, str | None]] = field(default_factory=list)
    failing: dict[str, str] = field(default_factory=dict)

    def _record(self, what: str, call: QueueCall, operator: Position, number: str | None) -> None:
        self.asked.append((what, call.id, operator.login, number))
        if what in self.failing:
            raise RuntimeError(self.failing[what])

    async def take(self, call: QueueCall, operator: Position) -> None:
        self._record("take", call, operator, None)

    async def connect(self, call: QueueCall, operator: Position, number: str) -> None:
        self._record("connect", call, operator, number)

    async def send_back(self, call: QueueCall, operator: Position) -> None:
        self._record("send_back", call, operator, None)

    async def hang_up(self, call: QueueCall, operator: Position) -> None:
        self._record("hang_up", call, operator, None)


@dataclass
class RunningConsole:
    store: Store
    service: QueueService
    actions: RecordingActions
    url: str
    _calls: int = 0

    async def enqueue(self, **changes: Any) -> QueueCall:
        self._calls += 1
        values: dict[str, Any] = {
            "queue": "CED",
            "exchange": "CED",
            "call_id": f"console-{self._calls}-{time.monotonic_ns()}@192.0.2.1",
            "caller": "5551001",
            "caller_display": "Mrs. Hale",
            "dialed": "5553001",
            "line": "5553001",
        }
        values.update(changes)
        return await self.service.enqueue(**values)


async def provision(store: Store) -> None:
    await store.add_exchange("ASH", "Ashford", "5551")
    await store.add_exchange("CED", "Cedar Falls", "5553", mode="manual")
    for number, name in (
        ("5551001", "Ashford library"),
        ("5551101", "Operator desk 1"),
        ("5551102", "Operator desk 2"),
    ):
        await store.add_line(number, "ASH", name)
    for entry in DIRECTORY:
        if entry["exchange"] == "CED":
            await store.add_line(entry["number"], "CED", entry["name"], jack_label=entry["jack"])
    await add_operator(store, "alice", "5551101", PASSWORDS["alice"], ["CED"], "Alice Moore")
    await add_operator(store, "bob", "5551102", PASSWORDS["bob"], ["CED"], "Bob Reed")


@contextlib.asynccontextmanager
async def running_console(
    store: Store, *, secure_cookies: bool = False, notes: Any = None
) -> AsyncIterator[RunningConsole]:
    await provision(store)
    service = QueueService(store, "node-a")
    await service.start(tick_interval=None)
    actions = RecordingActions()
    app = ConsoleApp(
        service,
        StoreAccounts(store),
        secure_cookies=secure_cookies,
        actions=actions,
        directory_search=search_directory,
        stats_interval=0.2,
        notes=notes,
    )
    runner = await start_console(app, "127.0.0.1", 0)
    try:
        yield RunningConsole(store, service, actions, f"http://127.0.0.1:{console_port(runner)}")
    finally:
        await stop_console(runner)
        await service.close()
