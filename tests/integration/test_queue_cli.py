"""`softswitch operator ...` and `softswitch queue ...` against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time

import pytest

from softswitch.cli import main
from softswitch.queue import QueueService, authenticate
from softswitch.store import Store

pytestmark = pytest.mark.integration


class Cli:
    """Runs `main()` in a worker thread (it runs its own event loop) and captures its output."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
        self.url = url
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    async def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, [*argv, "--database-url", self.url])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(fresh_database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> Cli:
    for name in [name for name in os.environ if name.startswith("SOFTSWITCH_")]:
        monkeypatch.delenv(name)
    return Cli(fresh_database_url, capsys, monkeypatch)


async def network(cli: Cli) -> None:
    for argv in (
        ["exchange", "add", "ASH", "--name", "Ashford", "--prefix", "5551"],
        ["exchange", "add", "CED", "--name", "Cedar Falls", "--prefix", "5553", "--mode", "manual"],
        ["line", "add", "5551002", "--exchange", "ASH", "--no-password"],
        ["line", "add", "5553001", "--exchange", "CED", "--no-password", "--jack", "C-01"],
    ):
        code, _, err = await cli(*argv)
        assert code == 0, err


async def test_operators(cli: Cli, fresh_database_url: str) -> None:
    await network(cli)
    code, out, err = await cli("operator", "list")
    assert (code, out, err) == (0, "no operators\n", "")

    code, out, err = await cli(
        "operator", "add", "ann", "--line", "5551002", "--queues", "ASH,CED",
        "--name", "Ann Oakes", "--password-stdin", stdin="switchboard-1\n",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == "added operator ann on line 5551002, serving ASH, CED\n"

    code, out, err = await cli("operator", "list")
    header, ann = out.splitlines()
    assert header.split()[:5] == ["LOGIN", "NAME", "LINE", "QUEUES", "POSITION"]
    assert ann.split()[:6] == ["ann", "Ann", "Oakes", "5551002", "ASH,CED", "offline"]

    store = await Store.open(fresh_database_url)
    try:
        assert await authenticate(store, "ann", "switchboard-1") is not None
    finally:
        await store.close()

    for argv, stdin, message in [
        (["ann", "--line", "5551002", "--queues", "CED"], "switchboard-1\n", "already exists"),
        (["bob", "--line", "5559999", "--queues", "CED"], "switchboard-1\n", "no line 5559999"),
        (["bob", "--line", "5551002", "--queues", "CED"], "short\n", "at least 8 characters"),
        (["bob", "--line", "5551002", "--queues", "CED"], "", "no password on stdin"),
        (["Bob!", "--line", "5551002", "--queues", "CED"], "switchboard-1\n", "login"),
    ]:
        code, out, err = await cli("operator", "add", *argv, "--password-stdin", stdin=stdin)
        assert code == 1 and out == "", argv
        assert err.startswith("softswitch: error: ") and message in err and err.count("\n") == 1

    code, out, err = await cli("line", "remove", "5551002")
    assert code == 1 and "phone of ann" in err

    code, out, err = await cli(
        "operator", "set-password", "ann", "--password-stdin", stdin="switchboard-2\n"
    )
    assert (code, out) == (0, "password of operator ann set\n"), err

    code, out, err = await cli("operator", "remove", "ann")
    assert (code, out, err) == (0, "removed operator ann\n", "")
    code, out, err = await cli("operator", "remove", "ann")
    assert (code, err) == (1, "softswitch: error: no operator ann\n")


async def test_queue_list_and_stats(cli: Cli, fresh_database_url: str) -> None:
    await network(cli)
    code, out, err = await cli("queue", "list")
    assert (code, out, err) == (0, "no calls waiting\n", "")
    code, out, err = await cli(
        "operator", "add", "ann", "--line", "5551002", "--queues", "CED",
        "--password-stdin", stdin="switchboard-1\n",
    )  # fmt: skip
    assert code == 0, err

    store = await Store.open(fresh_database_url)
    service = QueueService(store, "node-a")
    await service.start(tick_interval=None)
    now = float(int(time.time()))
    try:
        first = await service.enqueue(
            queue="CED", call_id="c1", caller="5551001", dialed="4001", line="5553001",
            now=now - 100,
        )  # fmt: skip
        await service.enqueue(
            queue="ASH", call_id="c2", caller="5551003", dialed="911", priority=9, now=now - 10
        )
        gone = await service.enqueue(queue="CED", call_id="c3", caller="5551004", dialed="4002")
        await service.abandon("c3", now=gone.enqueued_at + 5)
        await service.set_position("ann", "available")
        await service.take(first.id, "ann", now=now - 70)  # waited 30 s
        await service.mark_connecting(first.id)
        await service.mark_connected(first.id)
    finally:
        await service.close()
        await store.close()

    code, out, err = await cli("queue", "list")
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["ID", "QUEUE", "PRI", "CALLER"]
    assert len(rows) == 1 and rows[0].split()[1:5] == ["ASH", "9!", "5551003", "911"]

    code, out, err = await cli("queue", "set", "CED", "--service-level", "40")
    assert code == 0, err
    code, out, err = await cli("queue", "stats", "--format", "json")
    assert code == 0, err
    stats = json.loads(out)
    assert set(stats) == {"ASH", "CED", "(all)"}
    assert stats["CED"] == {
        "offered": 2,
        "taken": 1,
        "connected": 1,
        "abandoned": 1,
        "overflowed": 0,
        "wait_p50": 30.0,
        "wait_p90": 30.0,
        "service_level": 0.5,  # one taken within 40 s, one abandoned
    }
    assert stats["(all)"]["offered"] == 3

    code, out, err = await cli("queue", "stats", "--queue", "CED", "--since", "1h")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split()[:3] == ["QUEUE", "OFFERED", "TAKEN"]
    assert row.split() == ["CED", "2", "1", "1", "1", "0", "30s", "30s", "50%"]

    code, out, err = await cli("queue", "stats", "--queue", "CED", "--since", "2099-01-01")
    assert code == 0, err
    assert out.splitlines()[1].split() == ["CED", "0", "0", "0", "0", "0", "-", "-", "-"]


async def test_queue_settings(cli: Cli) -> None:
    code, out, err = await cli("queue", "show")
    assert (code, err) == (0, "") and "default settings" in out

    code, out, err = await cli(
        "queue", "set", "CED", "--distribution", "longest_idle", "--ring-timeout", "20",
        "--max-wait", "120", "--max-length", "10", "--overflow-queue", "ASH",
        "--retry-after", "300", "--wrap-up", "15",
    )  # fmt: skip
    assert code == 0, err
    code, out, err = await cli("queue", "show")
    _header, row = out.splitlines()
    assert row.split() == [
        "CED", "longest_idle", "20s", "120s", "10", "queue", "ASH", "300s", "20s", "15s",
    ]  # fmt: skip

    code, out, err = await cli(
        "queue", "set", "CED", "--max-wait", "none", "--overflow-queue", "none"
    )
    assert code == 0, err
    code, out, err = await cli("queue", "show")
    assert out.splitlines()[1].split()[3:7] == ["-", "10", "answer", "480"]

    code, out, err = await cli("queue", "set", "CED")
    assert code == 1 and "nothing to change" in err
    code, out, err = await cli("queue", "set", "CED", "--overflow-queue", "CED")
    assert code == 1 and err.startswith("softswitch: error: ")
    code, out, err = await cli("queue", "set", "CED", "--ring-timeout", "0")
    assert code == 2 and "above 0" in err

    code, out, err = await cli("queue", "reset", "CED")
    assert (code, out) == (0, "queue CED has the default settings again\n")
    code, out, err = await cli("queue", "reset", "CED")
    assert (code, out) == (0, "queue CED already had the default settings\n")
