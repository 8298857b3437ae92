"""`softswitch dialplan ...` and `softswitch cdr list` against a real PostgreSQL, with the
example network of `dialplans/`."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from softswitch.cli import main
from softswitch.proxy.records import CallRecorder
from softswitch.routing import load_dialplan, read_sources
from softswitch.store import Store

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "dialplans"


def example_size(more_rules: int = 0) -> str:
    plan = load_dialplan(read_sources([EXAMPLE]))
    return f"{len(plan.files)} files, {len(plan.rules) + more_rules} rules"


def example_position(rule: str) -> int:
    found = load_dialplan(read_sources([EXAMPLE])).rule(rule)
    assert found is not None
    return found.index + 1


class Cli:
    """Runs `main()` in a worker thread (it runs its own event loop) and captures its output."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
        self.url = url
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, [*argv, "--database-url", self.url])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(fresh_database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> Cli:
    for name in [name for name in os.environ if name.startswith("SOFTSWITCH_")]:
        monkeypatch.delenv(name)
    return Cli(fresh_database_url, capsys, monkeypatch)


@pytest.fixture
async def network(fresh_database_url: str) -> AsyncIterator[str]:
    """The example network: Ashford served here, Birchwood over a trunk, Cedar Falls manual."""
    store = await Store.open(fresh_database_url)
    try:
        await store.migrate()
        await store.add_exchange("ASH", "Ashford", "5551")
        await store.add_exchange("BIR", "Birchwood", "5552", trunk_uris=["sip:bir.county.test"])
        await store.add_exchange("CED", "Cedar Falls", "5553", mode="manual")
        for number in ("5551001", "5551002", "5551300", "5551301"):
            await store.add_line(number, "ASH")
        await store.add_line("5551900", "ASH", "Square payphone", line_class="payphone")
        await store.add_line("5553123", "CED", "Mill", jack_label="A-12")
    finally:
        await store.close()
    yield fresh_database_url


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    """A copy of the example dialplans to edit."""
    copy = tmp_path / "dialplans"
    shutil.copytree(EXAMPLE, copy)
    return copy


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace the `count`-th occurrence of `old` in the file; return its line number."""
    text = path.read_text()
    at = -1
    for _ in range(count):
        at = text.index(old, at + 1)
    path.write_text(text[:at] + new + text[at + len(old) :])
    return text.count("\n", 0, at) + 1


def rule_line(path: Path, name: str) -> int:
    """The line of the `[[rule]]` that has this name: where messages point to."""
    lines = path.read_text().splitlines()
    at = lines.index(f'name = "{name}"')
    while lines[at].strip() != "[[rule]]":
        at -= 1
    return at + 1


# -- check --------------------------------------------------------------------------------


async def test_check_passes_on_the_example(cli: Cli, network: str, monkeypatch) -> None:
    code, out, err = await cli("dialplan", "check", str(EXAMPLE))
    assert (code, err) == (0, "")
    assert out == f"OK: {example_size()}\n"

    monkeypatch.chdir(ROOT)  # the default: the dialplan_dir setting, "dialplans"
    assert (await cli("dialplan", "check"))[:2] == (0, f"OK: {example_size()}\n")


async def test_check_against_an_empty_database(cli: Cli) -> None:
    code, out, _ = await cli("dialplan", "check", str(EXAMPLE))
    assert code == 1
    assert f"{EXAMPLE}/10-ashford.toml:" in out and ": no exchange ASH\n" in out
    assert "the database has no exchanges yet" in out
    code, out, _ = await cli("dialplan", "check", "--offline", str(EXAMPLE))
    assert (code, out) == (0, f"OK: {example_size()}\n")


async def test_broken_files_are_refused_with_file_line_reason(
    cli: Cli, network: str, plans: Path
) -> None:
    assert (await cli("dialplan", "apply", str(EXAMPLE)))[0] == 0

    # A mistake in the file itself: a misspelt key.
    cedar = plans / "30-cedar-falls.toml"
    line = edit(cedar, 'pattern = "_5553XXX"', 'patern = "_5553XXX"', count=2)
    code, out, err = await cli("dialplan", "check", str(plans))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f'{cedar}:{line}: rule "cedar-falls": unknown key "patern" (did you mean "pattern"?)',
        f"1 error, 0 warnings: {plans} (4 files)",
    ]
    code, out, err = await cli("dialplan", "apply", str(plans), "--comment", "broken")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f'{cedar}:{line}: rule "cedar-falls": unknown key "patern" (did you mean "pattern"?)',
        "softswitch: error: dialplan not applied: 1 error; version 1 stays active",
    ]

    # A mistake against the database: an exchange that does not exist, and a warning.
    edit(cedar, "patern", "pattern")
    ashford = plans / "10-ashford.toml"
    wrong = edit(ashford, 'deliver = { exchange = "ASH" }', 'deliver = { exchange = "ASHF" }')
    code, out, _ = await cli("dialplan", "check", str(plans))
    assert code == 1
    assert f'{ashford}:{wrong}: rule "ashford": no exchange ASHF' in out.splitlines()
    code, out, err = await cli("dialplan", "apply", str(plans))
    assert (code, out) == (1, "")
    assert err.endswith(
        "softswitch: error: dialplan not applied: 1 error; version 1 stays active\n"
    )

    code, out, _ = await cli("dialplan", "versions")
    assert [row.split()[:2] for row in out.splitlines()[1:]] == [["1", "yes"]]


async def test_warnings_do_not_fail(cli: Cli, network: str, plans: Path) -> None:
    ashford = plans / "10-ashford.toml"
    line = ashford.read_text().count("\n") + 2
    with ashford.open("a") as file:
        file.write('\n[[rule]]\nname = "late"\nexact = "5551999"\ndeliver = { line = "5551001" }\n')
    code, out, _ = await cli("dialplan", "check", str(plans))
    assert code == 0
    warning, summary = out.splitlines()
    assert warning.startswith(
        f'{ashford}:{line}: warning: rule "late" is never used: rule "ashford"'
    )
    size = example_size(more_rules=1)
    assert summary == f"OK: {size}, 1 warning"
    code, out, err = await cli("dialplan", "apply", str(plans))
    assert (code, out) == (0, f"dialplan version 1 is active ({size})\n")
    assert err == warning + "\n"


async def test_unreadable_paths(cli: Cli, tmp_path: Path) -> None:
    code, out, err = await cli("dialplan", "check", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == f"softswitch: error: {tmp_path / 'nope'}: no such file or folder\n"
    code, _, err = await cli("dialplan", "check", str(tmp_path))
    assert err == f"softswitch: error: no dialplan files (*.toml) in {tmp_path}\n"


# -- apply, versions, rollback --------------------------------------------------------------


async def test_apply_versions_rollback(cli: Cli, network: str, plans: Path) -> None:
    code, out, err = await cli("dialplan", "versions")
    assert (code, out, err) == (0, "no dialplan versions\n", "")

    code, out, err = await cli("dialplan", "apply", str(plans), "--comment", "cut-over")
    assert (code, out, err) == (0, f"dialplan version 1 is active ({example_size()})\n", "")
    code, out, _ = await cli("dialplan", "apply", str(plans))
    assert (code, out) == (0, "dialplan unchanged: version 1 is active\n")
    code, out, _ = await cli("dialplan", "apply", str(EXAMPLE))  # same files, another folder
    assert out == "dialplan unchanged: version 1 is active\n"

    edit(plans / "10-ashford.toml", 'time = "18:00-08:00"', 'time = "19:00-08:00"')
    code, out, _ = await cli("dialplan", "apply", str(plans), "--comment", "surgery open later")
    assert (code, out) == (0, f"dialplan version 2 is active ({example_size()})\n")

    code, out, err = await cli("dialplan", "versions")
    assert code == 0 and err == ""
    header, first, second = out.splitlines()
    assert header.split() == ["VERSION", "ACTIVE", "CREATED", "COMMENT", "FILES"]
    files = "00-network.toml, 10-ashford.toml, 20-birchwood.toml, 30-cedar-falls.toml"
    assert first.split()[0] == "1" and first.endswith(f"cut-over            {files}")
    assert second.split()[:2] == ["2", "yes"] and "surgery open later" in second
    assert header.index("COMMENT") == first.index("cut-over")  # aligned columns

    code, out, err = await cli("dialplan", "rollback", "1")
    assert (code, out, err) == (0, "dialplan version 1 is active (was version 2)\n", "")
    code, out, _ = await cli("dialplan", "rollback", "1")
    assert (code, out) == (0, "dialplan version 1 is already active\n")
    code, out, err = await cli("dialplan", "rollback", "9")
    assert (code, out, err) == (1, "", "softswitch: error: no dialplan version 9\n")
    code, _, err = await cli("dialplan", "rollback", "x")
    assert code == 2 and "a version is a number" in err

    _, out, _ = await cli("dialplan", "versions")
    header, *rows = out.splitlines()
    active = header.index("ACTIVE")
    assert [(row.split()[0], row[active : active + 3]) for row in rows] == [
        ("1", "yes"),
        ("2", "   "),
    ]


async def test_rollback_refuses_a_version_the_network_no_longer_fits(
    cli: Cli, network: str, fresh_database_url: str, plans: Path
) -> None:
    await cli("dialplan", "apply", str(plans))
    with (plans / "40-dale.toml").open("w") as file:
        file.write('[[rule]]\nname = "dale"\nprefix = "5554"\ndeliver = { exchange = "DAL" }\n')
    store = await Store.open(fresh_database_url)
    try:
        await store.add_exchange("DAL", "Dale", "5554")
        assert (await cli("dialplan", "apply", str(plans)))[0] == 0
        await store.activate_dialplan(1)
        await asyncio.sleep(0)
    finally:
        await store.close()
    # DAL goes away: version 2, which routes to it, must not become active again.
    import asyncpg

    conn = await asyncpg.connect(fresh_database_url)
    try:
        await conn.execute("DELETE FROM exchanges WHERE code = 'DAL'")
    finally:
        await conn.close()
    code, out, err = await cli("dialplan", "rollback", "2")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        '40-dale.toml:4: rule "dale": no exchange DAL',
        "softswitch: error: not rolled back: 1 error; version 1 stays active",
    ]


# -- diff -----------------------------------------------------------------------------------


async def test_diff(cli: Cli, network: str, plans: Path) -> None:
    network_file = plans / "00-network.toml"
    code, out, _ = await cli("dialplan", "diff", str(plans))
    assert code == 0
    assert out.startswith(f"from: nothing (no version)\nto:   {plans} (4 files)\n")
    emergency = rule_line(network_file, "emergency")
    assert f"emergency (position 1, 00-network.toml:{emergency})" in out

    await cli("dialplan", "apply", str(plans))
    code, out, _ = await cli("dialplan", "diff", str(plans))
    assert out == f"from: version 1 (active)\nto:   {plans} (4 files)\nNo changes.\n"

    edit(network_file, "max_rewrites = 10", "max_rewrites = 5")
    edit(network_file, 'exact = "411"', 'exact = "4111"')
    edit(plans / "10-ashford.toml", 'time = "18:00-08:00"', 'time = "19:00-08:00"')
    cedar = plans / "30-cedar-falls.toml"
    text = cedar.read_text()
    night = text.index("[[rule]]\n# Night service")
    day = text.index('[[rule]]\nname = "cedar-falls"\n')
    cedar.write_text(text[:night] + text[day:] + "\n" + text[night:day])  # day before night
    (plans / "20-birchwood.toml").write_text(
        '[[rule]]\nname = "birchwood"\nprefix = "5552"\ndeliver = { exchange = "BIR" }\n'
    )
    code, out, err = await cli("dialplan", "diff", str(plans))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == ["from: version 1 (active)", f"to:   {plans} (4 files)"]
    changes = "\n".join(lines[2:])
    assert "max_rewrites: 10 -> 5" in changes
    tie_line = example_position("birchwood-tie-line")
    assert f"- birchwood-tie-line (was position {tie_line})" in changes
    where = rule_line(network_file, "directory-assistance")
    assert f"~ directory-assistance (00-network.toml:{where})" in changes
    assert "411 -> number 4111" in changes
    assert "time 18:00-08:00 -> time 19:00-08:00" in changes
    cedar_falls = example_position("cedar-falls")
    moved = f"> cedar-falls moved: position {cedar_falls} -> {cedar_falls - 2}"
    assert moved in changes  # one up past the night rule, one for the tie line removed
    assert "cedar-falls-night-service" not in changes  # the fewest moves explain the order

    await cli("dialplan", "apply", str(plans))
    code, out, _ = await cli("dialplan", "diff", "--from", "1", "--to", "2")
    assert out.splitlines()[:2] == ["from: version 1", "to:   version 2"]
    assert moved in out
    code, out, _ = await cli("dialplan", "diff", "--from", "2", str(plans))
    assert out.endswith("No changes.\n")
    code, _, err = await cli("dialplan", "diff", "--to", "7")
    assert (code, err) == (1, "softswitch: error: no dialplan version 7\n")


# -- explain --------------------------------------------------------------------------------


async def explained(cli: Cli, caller: str, number: str, at: str, *more: str) -> list[str]:
    code, out, err = await cli("dialplan", "explain", "--from", caller, number, "--at", at, *more)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[-1].startswith("Result: ")
    return lines


def outcome(lines: list[str], rule: str) -> str:
    """How the explanation says `rule` was tried: "match" or "skip"."""
    found = [line.split()[0] for line in lines if line.split()[1:2] == [rule]]
    assert len(found) == 1, lines
    return found[0]


async def test_explain_the_example_network(cli: Cli, network: str) -> None:
    await cli("dialplan", "apply", str(EXAMPLE))
    monday_noon, monday_night, saturday = "2024-05-06 12:00", "2024-05-06 23:30", "2024-05-11 10:00"

    lines = await explained(cli, "5551001", "002", monday_noon)
    assert lines[0] == "Dialplan: version 1 (active)"
    assert lines[1] == 'Call from 5551001 (exchange ASH, class residential) to "002"'
    assert "Mon 2024-05-06 12:00 (America/Chicago)" in lines[2]
    assert "002 -> 5551002" in lines[3]
    assert outcome(lines, "ashford") == "match"
    ashford = rule_line(EXAMPLE / "10-ashford.toml", "ashford")
    assert f"10-ashford.toml:{ashford}" in next(line for line in lines if " ashford " in line)
    assert lines[-1] == 'Result: exchange ASH, served here, number 5551002 by rule "ashford"'

    # Night service for the surgery: evenings, weekends, not weekday office hours.
    lines = await explained(cli, "5551002", "5551300", monday_night)
    assert outcome(lines, "surgery-night-service") == "match"
    assert "line 5551301 (exchange ASH)" in lines[-1]
    lines = await explained(cli, "5551002", "5551300", saturday)
    assert outcome(lines, "surgery-night-service") == "skip"
    assert outcome(lines, "surgery-weekend-service") == "match"
    assert "line 5551301" in lines[-1] and '"surgery-weekend-service"' in lines[-1]
    lines = await explained(cli, "5551002", "5551300", monday_noon)
    assert outcome(lines, "surgery-night-service") == "skip"
    assert lines[-1] == 'Result: exchange ASH, served here, number 5551300 by rule "ashford"'

    # The old tie line to Birchwood: a rewrite, then the trunk kept with the exchange.
    lines = await explained(cli, "5551001", "82001", monday_noon)
    rewrite = [line for line in lines if line.strip().startswith("rewrite 82001 -> 5552001")]
    assert len(rewrite) == 1 and '"birchwood-tie-line"' in rewrite[0]
    assert len([line for line in lines if line.startswith("Pass ")]) == 2
    assert outcome(lines, "birchwood") == "match"
    assert lines[-1] == (
        'Result: trunk sip:bir.county.test (exchange BIR), number 5552001 by rule "birchwood"'
    )

    # Cedar Falls is manual: its operator by day, Ashford's at night.
    lines = await explained(cli, "5551001", "4123", monday_noon)
    assert "operator queue of CED" in lines[-1] and "5553123" in lines[-1]
    lines = await explained(cli, "5551001", "4123", monday_night)
    assert "operator queue of ASH" in lines[-1] and '"cedar-falls-night-service"' in lines[-1]
    lines = await explained(cli, "5553123", "0", monday_noon)
    assert outcome(lines, "operator-ashford") == "skip"  # the caller is not in Ashford
    assert "operator queue of CED" in lines[-1]
    lines = await explained(cli, "5559999", "911", monday_night)
    assert "operator queue of ASH, priority 9" in lines[-1]

    # The payphone may not call long distance; everyone else goes to the carrier.
    lines = await explained(cli, "5551900", "18005551234", monday_noon, "--verbose")
    assert lines[1] == 'Call from 5551900 (exchange ASH, class payphone) to "18005551234"'
    assert outcome(lines, "premium-barred") == "skip"
    assert outcome(lines, "payphone-long-distance") == "match"
    assert lines[-1].startswith("Result: reject 403 Long distance is not available")
    lines = await explained(cli, "5551001", "18005551234", monday_noon)
    assert outcome(lines, "payphone-long-distance") == "skip"
    assert lines[-1].startswith("Result: trunk sip:ld1.carrier.example, sip:ld2.carrier.example")

    lines = await explained(cli, "5551001", "5559999", monday_noon)
    assert lines[-1].startswith("Result: reject 404 No route")


async def test_explain_from_files(cli: Cli, network: str, plans: Path, monkeypatch) -> None:
    # 999 for emergencies: a service number, not Ashford's short number for 5551999.
    network_file = plans / "00-network.toml"
    edit(network_file, 'exact = "911"', 'exact = "999"')
    edit(network_file, '["911", "411"]', '["999", "411"]')
    lines = await explained(cli, "5551001", "999", "2024-05-06 12:00", "--files", str(plans))
    assert lines[0] == f"Dialplan: {plans} (4 files)"
    assert outcome(lines, "emergency") == "match"
    assert any(f"{network_file}:{rule_line(network_file, 'emergency')}" in line for line in lines)
    assert "operator queue of ASH, priority 9" in lines[-1] and "number 999" in lines[-1]

    monkeypatch.chdir(plans.parent)  # nothing applied yet: the files in dialplan_dir
    lines = await explained(cli, "5559999", "999", "2024-05-06 12:00")
    assert lines[:2] == [
        "Dialplan: dialplans (4 files); no version is applied yet",
        "Note: 5559999 is not a line in the database",
    ]

    code, out, err = await cli("dialplan", "explain", "--from", "ann", "999")
    assert (code, out) == (1, "")
    assert err == "softswitch: error: --from takes the calling line's number (digits), not 'ann'\n"


# -- call records ---------------------------------------------------------------------------

T0 = datetime(2024, 5, 6, 14, 0, tzinfo=UTC).timestamp()


async def record_calls(url: str) -> None:
    """Four calls through the recorder, as the proxy reports them."""
    store = await Store.open(url)
    try:
        await store.migrate()
        recorder = CallRecorder(store, "node-a")
        ashford = "ashford: exchange ASH, served here"
        recorder.call_started("c1@ash", "5551001", "002", "5551002", ashford, T0)
        recorder.call_answered("c1@ash", T0 + 4)
        recorder.call_ended("c1@ash", "callee", T0 + 65)
        birchwood = 'trunk sip:bir.county.test (exchange BIR), number 5552001 by rule "birchwood"'
        recorder.call_started("c2@ash", "5551001", "82001", "5552001", birchwood, T0 + 100)
        recorder.call_failed("c2@ash", 486, "Busy Here", T0 + 103)
        cedar = 'operator queue of CED, priority 0, number 5553123 by rule "cedar-falls"'
        recorder.call_started("c3@ash", "5551002", "4123", "5553123", cedar, T0 + 200)
        recorder.call_failed("c3@ash", 487, "Request Terminated", T0 + 230)
        recorder.call_started("c4@bir", "trunk:BIR", "5551001", "5551001", "line 5551001", T0 + 300)
        recorder.call_answered("c4@bir", T0 + 302)
        await recorder.close(T0 + 400)  # still up: written without an end
    finally:
        await store.close()


async def test_cdr_list_formats(cli: Cli, network: str) -> None:
    code, out, err = await cli("cdr", "list")
    assert (code, out, err) == (0, "no call records\n", "")
    await record_calls(network)

    code, out, err = await cli("cdr", "list")
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == [
        "STARTED", "CALLER", "DIALED", "NUMBER", "DISPOSITION", "STATUS", "DURATION", "RULE",
        "ROUTE",
    ]  # fmt: skip
    started = datetime.fromtimestamp(T0).strftime("%Y-%m-%d %H:%M:%S")
    assert rows[0].split()[:9] == [
        *started.split(), "5551001", "002", "5551002", "answered", "200", "1m01s", "ashford",
    ]  # fmt: skip
    assert rows[0].split(maxsplit=9)[-2:] == ["ashford", "exchange ASH, served here"]
    assert rows[1].split()[3:7] == ["82001", "5552001", "busy", "486"]
    assert rows[2].split()[5:7] == ["cancelled", "487"]
    assert rows[3].split()[2:6] == ["trunk:BIR", "5551001", "5551001", "answered"]
    assert header.index("DISPOSITION") == rows[1].index("busy")

    code, out, _ = await cli("cdr", "list", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert [row["call_id"] for row in parsed] == ["c1@ash", "c2@ash", "c3@ash", "c4@bir"]
    first = parsed[0]
    assert first["started_at"] == "2024-05-06T14:00:00.000+00:00"
    assert first["ended_at"] == "2024-05-06T14:01:05.000+00:00"
    assert (first["duration_seconds"], first["ended_by"], first["rule"]) == (
        "61.0",
        "callee",
        "ashford",
    )
    assert (parsed[1]["status"], parsed[1]["reason"]) == ("486", "Busy Here")
    assert (parsed[3]["ended_at"], parsed[3]["duration_seconds"]) == ("", "")
    assert parsed[3]["note"] == "still up when the node stopped"

    code, out, _ = await cli("cdr", "list", "--format", "json", "--disposition", "busy")
    assert json.loads(out) == [
        {
            "id": json.loads(out)[0]["id"],
            "call_id": "c2@ash",
            "caller": "5551001",
            "dialed": "82001",
            "number": "5552001",
            "rule": "birchwood",
            "route": "trunk sip:bir.county.test (exchange BIR)",
            "started_at": "2024-05-06T14:01:40.000+00:00",
            "answered_at": None,
            "ended_at": "2024-05-06T14:01:43.000+00:00",
            "duration_seconds": None,
            "disposition": "busy",
            "status": 486,
            "reason": "Busy Here",
            "node": "node-a",
            "ended_by": None,
            "note": None,
            "queue_wait_seconds": None,
            "operator_note": None,
            "note_by": None,
        }
    ]

    code, out, _ = await cli("cdr", "list", "--format", "json", "--line", "5551001")
    assert [row["call_id"] for row in json.loads(out)] == ["c1@ash", "c2@ash", "c4@bir"]
    code, out, _ = await cli("cdr", "list", "--format", "csv", "--limit", "2")
    assert [row["call_id"] for row in csv.DictReader(io.StringIO(out))] == ["c3@ash", "c4@bir"]
    code, out, _ = await cli("cdr", "list", "--since", "2024-05-06T14:03:00+00:00")
    assert len(out.splitlines()) == 1 + 2
    code, out, _ = await cli("cdr", "list", "--since", "1h")
    assert out == "no call records\n"
    code, out, _ = await cli("cdr", "list", "--disposition", "no-answer", "--format", "json")
    assert out == "[]\n"
    code, _, err = await cli("cdr", "list", "--disposition", "abandoned")
    assert code == 2 and "one of answered, busy, no answer" in err


async def test_cdr_traffic_hour_by_hour(cli: Cli, network: str) -> None:
    """Calls offered and what became of them, the refusals of overload control, and the
    traffic carried: a call up across the hour counts in both hours, one whose end was not
    seen in neither."""
    await record_calls(network)  # 14:00 to 14:05: answered, busy, cancelled, answered and open
    store = await Store.open(network)
    try:
        recorder = CallRecorder(store, "node-a")
        recorder.call_started("c5@ash", "5551002", "003", "5551003", "line 5551003", T0 + 3500)
        recorder.call_answered("c5@ash", T0 + 3540)  # 60 s in the 14:00 hour
        recorder.call_ended("c5@ash", "caller", T0 + 3600 + 1800)  # 30 min in the 15:00 hour
        await recorder.close(T0 + 5400)
        await store.record_refusals("node-a", T0 + 1800, T0 + 1860, 7, 3)
        await store.record_refusals("node-b", T0 + 4200, T0 + 4210, 2, 0)
    finally:
        await store.close()

    since, until = "2024-05-06T14:00:00+00:00", "2024-05-06T16:59:59+00:00"
    span = ("--since", since, "--until", until)
    code, out, err = await cli("cdr", "traffic", *span, "--format", "json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    hours = {row["hour"]: row for row in report["hours"]}
    assert list(hours) == [
        "2024-05-06T14:00:00.000+00:00",
        "2024-05-06T15:00:00.000+00:00",
        "2024-05-06T16:00:00.000+00:00",
    ]
    assert hours["2024-05-06T14:00:00.000+00:00"] == {
        "hour": "2024-05-06T14:00:00.000+00:00",
        "offered": 5 + 7,
        "answered": 3,
        "busy": 1,
        "no_answer": 0,
        "failed": 0,
        "abandoned": 1,
        "refused": 7,
        "erlangs": round((61 + 60) / 3600, 2),
        "registrations_refused": 3,
    }
    fifteen = hours["2024-05-06T15:00:00.000+00:00"]
    assert (fifteen["offered"], fifteen["refused"], fifteen["erlangs"]) == (2, 2, 0.5)
    assert hours["2024-05-06T16:00:00.000+00:00"]["offered"] == 0
    assert report["summary"] == {
        "offered": 14,
        "answered": 3,
        "refused": 9,
        "registrations_refused": 3,
        "answered_share": round(3 / 14, 4),
        "refused_share": round(9 / 14, 4),
        "busy_hour": "2024-05-06T15:00:00.000+00:00",
        "busy_hour_erlangs": 0.5,
    }

    code, out, err = await cli("cdr", "traffic", *span)
    assert (code, err) == (0, "")
    header, first, second, third, blank, *summary = out.splitlines()
    assert header.split() == [
        "HOUR", "OFFERED", "ANSWERED", "BUSY", "NO", "ANSWER", "FAILED", "ABANDONED", "REFUSED",
        "ERLANGS",
    ]  # fmt: skip
    assert first.split()[2:] == ["12", "3", "1", "0", "0", "1", "7", "0.03"]
    assert second.split()[2:] == ["2", "0", "0", "0", "0", "0", "2", "0.50"]
    assert third.split()[2:] == ["0", "0", "0", "0", "0", "0", "0", "0.00"]
    assert first.split()[:2] == datetime.fromtimestamp(T0).strftime("%Y-%m-%d %H:%M").split()
    assert blank == ""
    assert summary[0] == "14 calls offered, 3 answered (21.4%), 9 refused in overload (64.3%)"
    assert summary[1] == "3 registrations refused in overload"
    assert summary[2].startswith("busy hour: ") and summary[2].endswith(", 0.50 erlangs")

    code, out, _ = await cli("cdr", "traffic", *span, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["offered"] for row in rows] == ["12", "2", "0"]

    code, out, err = await cli("cdr", "traffic", "--since", until, "--until", since)
    assert (code, out) == (1, "")
    assert err == "softswitch: error: --since must come before --until\n"
    code, out, err = await cli("cdr", "traffic", "--since", "800d")
    assert (code, out) == (1, "")
    assert err == "softswitch: error: a report covers at most 366 days\n"


@pytest.fixture
def india_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This machine's clock on India's time, 5 h 30 min ahead of UTC (a POSIX TZ rule: no zone
    database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_cdr_traffic_counts_the_hours_of_the_local_clock(
    cli: Cli, fresh_database_url: str, india_time: None
) -> None:
    """Where the clock is half an hour off UTC's hours, a report hour is the local one:
    20:00 to 21:00 in India is 14:30 to 15:30 UTC."""
    store = await Store.open(fresh_database_url)
    try:
        await store.migrate()
        recorder = CallRecorder(store, "node-a")
        line = "line 5551002"
        recorder.call_started("c1@ash", "5551001", "002", "5551002", line, T0 + 2400)  # 20:10
        recorder.call_answered("c1@ash", T0 + 2400)
        recorder.call_ended("c1@ash", "caller", T0 + 3000)  # up 10 min, all in 20:00 to 21:00
        recorder.call_started("c2@ash", "5551001", "002", "5551002", line, T0 + 4200)  # 20:40
        recorder.call_failed("c2@ash", 486, "Busy Here", T0 + 4203)
        recorder.call_started("c3@ash", "5551001", "002", "5551002", line, T0 + 5700)  # 21:05
        recorder.call_answered("c3@ash", T0 + 5700)
        recorder.call_ended("c3@ash", "caller", T0 + 7500)  # up 30 min, to 21:35
        await recorder.close(T0 + 7600)
    finally:
        await store.close()

    span = ("--since", "2024-05-06T20:00:00+05:30", "--until", "2024-05-06T21:59:59+05:30")
    code, out, err = await cli("cdr", "traffic", *span, "--format", "json")
    assert (code, err) == (0, "")
    hours = json.loads(out)["hours"]
    assert [row["hour"] for row in hours] == [
        "2024-05-06T14:30:00.000+00:00",
        "2024-05-06T15:30:00.000+00:00",
    ]
    assert [(row["offered"], row["answered"], row["busy"], row["erlangs"]) for row in hours] == [
        (2, 1, 1, round(600 / 3600, 2)),
        (1, 1, 0, 0.5),
    ]
    code, out, err = await cli("cdr", "traffic", *span)
    assert (code, err) == (0, "")
    rows = out.splitlines()[1:3]
    assert [row.split()[:3] for row in rows] == [
        ["2024-05-06", "20:00", "2"],
        ["2024-05-06", "21:00", "1"],
    ]
