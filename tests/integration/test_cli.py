"""The `softswitch` command against a real PostgreSQL, and how settings are layered."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import asyncpg
import pytest

from softswitch.cli import main
from softswitch.config import ConfigError, load_settings
from softswitch.sip.digest import compute_ha1
from softswitch.store import Binding, Store, start_embedded

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


async def test_exchanges(cli: Cli) -> None:
    code, out, err = await cli("exchange", "list")
    assert (code, out, err) == (0, "no exchanges\n", "")

    code, out, err = await cli("exchange", "add", "MILL", "--name", "Millbrook", "--prefix", "31")
    assert code == 0 and err == ""
    assert "MILL" in out and "served here" in out
    code, out, err = await cli(
        "exchange", "add", "oak", "--name", "Oakridge", "--prefix", "32", "--mode", "manual",
        "--trunk", "sip:oak-gw.county.test", "--trunk", "sip:192.0.2.7",
    )  # fmt: skip
    assert code == 0, err

    code, out, err = await cli("exchange", "list")
    assert code == 0 and err == ""
    header, mill, oak = out.splitlines()
    assert header.split() == ["CODE", "NAME", "PREFIX", "MODE", "ROUTE"]
    assert mill.split() == ["MILL", "Millbrook", "31", "automated", "served", "here"]
    assert oak.split() == [
        "OAK",
        "Oakridge",
        "32",
        "manual",
        "sip:oak-gw.county.test,",
        "sip:192.0.2.7",
    ]
    assert header.index("PREFIX") == mill.index("31") == oak.index("32")  # aligned columns

    code, out, err = await cli("exchange", "add", "MILL", "--name", "Again", "--prefix", "39")
    assert code == 1 and out == ""
    assert err == "softswitch: error: exchange MILL already exists\n"


async def test_lines(cli: Cli, fresh_database_url: str) -> None:
    await cli("exchange", "add", "MILL", "--name", "Millbrook", "--prefix", "31")
    await cli("exchange", "add", "OAK", "--name", "Oakridge", "--prefix", "32", "--mode", "manual")

    code, out, err = await cli(
        "line", "add", "3101", "--exchange", "MILL", "--name", "Ann Baker", "--password-stdin",
        stdin="s3cret pass\n",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    assert "3101" in out and "with SIP credentials" in out
    code, out, err = await cli(
        "line", "add", "3201", "--exchange", "OAK", "--jack", "A-14", "--class", "business",
        "--no-password",
    )  # fmt: skip
    assert code == 0, err

    code, out, err = await cli("line", "list")
    assert code == 0 and err == ""
    header, ann, post = out.splitlines()
    assert header.split() == ["NUMBER", "EXCHANGE", "NAME", "CLASS", "JACK", "SIP"]
    assert ann.split() == ["3101", "MILL", "Ann", "Baker", "residential", "yes"]
    assert post.split() == ["3201", "OAK", "business", "A-14", "no"]
    code, out, _ = await cli("line", "list", "--exchange", "oak")
    assert [row.split()[0] for row in out.splitlines()[1:]] == ["3201"]

    # The password went in as digest HA1s for the realm, and nowhere as itself.
    store = await Store.open(fresh_database_url)
    try:
        credentials = await store.load_credentials()
    finally:
        await store.close()
    assert credentials == {
        "3101": (
            compute_ha1("3101", "softswitch", "s3cret pass", "MD5"),
            compute_ha1("3101", "softswitch", "s3cret pass", "SHA-256"),
        )
    }
    conn = await asyncpg.connect(fresh_database_url)
    try:
        dump = await conn.fetchval("SELECT string_agg(row_to_json(l)::text, '') FROM lines l")
    finally:
        await conn.close()
    assert "s3cret" not in dump

    code, out, err = await cli(
        "line", "add", "3101", "--exchange", "MILL", "--password-stdin", stdin="other\n"
    )
    assert code == 1 and out == ""
    assert err == "softswitch: error: line 3101 already exists\n"

    code, out, err = await cli("line", "add", "3102", "--exchange", "NOPE", "--no-password")
    assert (code, err) == (1, "softswitch: error: no exchange NOPE\n")
    code, out, err = await cli("line", "add", "3102", "--exchange", "MILL", "--password-stdin")
    assert (code, err) == (1, "softswitch: error: no password on stdin\n")
    code, out, err = await cli("line", "add", "3102", "--exchange", "MILL")  # no terminal
    assert code == 1 and "--password-stdin" in err and err.count("\n") == 1

    code, out, err = await cli("line", "remove", "3101")
    assert (code, out, err) == (0, "removed line 3101\n", "")
    code, out, err = await cli("line", "remove", "3101")
    assert (code, out, err) == (1, "", "softswitch: error: no line 3101\n")
    code, out, _ = await cli("line", "list", "--exchange", "MILL")
    assert out == "no lines\n"


async def test_set_password(cli: Cli, fresh_database_url: str) -> None:
    await cli("exchange", "add", "MILL", "--name", "Millbrook", "--prefix", "31")
    await cli("line", "add", "3101", "--exchange", "MILL", "--no-password")
    code, _, err = await cli("line", "set-password", "3101", "--password-stdin", stdin="pw\n")
    assert (code, err) == (0, ""), err
    store = await Store.open(fresh_database_url)
    try:
        assert (await store.load_credentials())["3101"][0] == compute_ha1(
            "3101", "softswitch", "pw", "MD5"
        )
    finally:
        await store.close()


async def test_bindings(cli: Cli, fresh_database_url: str) -> None:
    code, out, err = await cli("bindings")
    assert (code, out, err) == (0, "no bindings\n", "")

    await cli("exchange", "add", "MILL", "--name", "Millbrook", "--prefix", "31")
    await cli("line", "add", "3101", "--exchange", "MILL", "--password-stdin", stdin="pw\n")
    code, out, err = await cli("bindings", "--line", "3101")
    assert (code, out, err) == (0, "no bindings for line 3101\n", "")
    code, out, err = await cli("bindings", "--line", "3999")
    assert (code, err) == (1, "softswitch: error: no line 3999\n")

    store = await Store.open(fresh_database_url)
    try:
        await store.write_bindings(
            "3101",
            [
                Binding(
                    line_number="3101",
                    contact="sip:3101@[2001:db8::5]:5062",
                    expires_at=time.time() + 125,
                    call_id="abc",
                    cseq=3,
                    source_transport="tcp",
                    source_host="2001:db8::5",
                    source_port=40000,
                    local_port=5060,
                    user_agent="Linphone/5.2",
                    node="node-a",
                )
            ],
        )
    finally:
        await store.close()
    code, out, err = await cli("bindings")
    assert code == 0 and err == ""
    header, row = out.splitlines()
    assert "EXPIRES IN" in header and "USER AGENT" in header
    assert row.split()[:4] == ["3101", "sip:3101@[2001:db8::5]:5062", "[2001:db8::5]:40000", "TCP"]
    assert row.split()[4] in {"2m05s", "2m04s", "2m03s"}
    assert row.split()[-1] == "node-a" and "Linphone/5.2" in row


async def test_db_migrate(cli: Cli) -> None:
    code, out, err = await cli("db", "migrate")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "applied 0001_foundation",
        "applied 0002_line_notifications",
        "applied 0003_dialplans_and_cdrs",
        "applied 0004_operator_queue",
        "applied 0005_trunk_credentials",
        "applied 0006_switchboard_records",
        "applied 0007_held_invites",
        "applied 0008_call_notes",
        "applied 0009_held_legs",
        "applied 0010_refusals",
        "applied 0011_binding_notifications",
        "applied 0012_binding_notifications_per_statement",
    ]
    code, out, err = await cli("db", "migrate")
    assert (code, out, err) == (0, "database is up to date\n", "")


async def test_trunk_credentials_of_a_peer_exchange(cli: Cli) -> None:
    await cli("exchange", "add", "BIR", "--name", "Birchwood", "--prefix", "5552")
    code, out, err = await cli(
        "exchange", "set-trunk-password", "BIR", "--username", "birchwood", "--password-stdin",
        stdin="trunk-secret\n",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == "trunk credentials of exchange BIR set (user birchwood)\n"
    code, out, err = await cli(
        "exchange", "set-trunk-password", "NOPE", "--username", "x", "--password-stdin",
        stdin="secret\n",
    )  # fmt: skip
    assert code == 1 and err.count("\n") == 1 and "NOPE" in err


async def test_usage_and_connection_errors(cli: Cli, tmp_path: Path) -> None:
    code = await asyncio.to_thread(main, ["line", "add", "3101"])
    _, err = cli.capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and "--exchange" in err

    unreachable = f"postgresql://admin:topsecret@/postgres?host={tmp_path}"
    code = await asyncio.to_thread(main, ["exchange", "list", "--database-url", unreachable])
    out, err = cli.capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("softswitch: error: cannot connect")
    assert "topsecret" not in err

    code = await asyncio.to_thread(main, ["db", "migrate", "--config", str(tmp_path / "no.toml")])
    _, err = cli.capsys.readouterr()
    assert (code, err.count("\n")) == (1, 1) and "does not exist" in err


async def test_embedded_server_restarted_and_shared_across_processes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOFTSWITCH_")}
    env.pop("DATABASE_URL", None)
    data_dir = tmp_path / "data"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "softswitch", *argv, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    first = await asyncio.to_thread(run, "exchange", "add", "MILL", "--name", "M", "--prefix", "3")
    assert first.returncode == 0, first.stderr
    assert (data_dir / "postgres" / "PG_VERSION").exists()

    # The first process stopped the server on exit; this one starts it again on the same data,
    # and a second process reuses it while it runs, leaving it running when it exits.
    url = await asyncio.to_thread(start_embedded, data_dir)
    try:
        second = await asyncio.to_thread(run, "exchange", "list")
        assert second.returncode == 0, second.stderr
        assert second.stdout.splitlines()[1].split()[0] == "MILL" and second.stderr == ""
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM exchanges") == 1
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(_stop_embedded, data_dir / "postgres")


def _stop_embedded(pgdata: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    pgserver.get_server(pgdata).cleanup()


# -- settings -------------------------------------------------------------------------------


def test_settings_layers(tmp_path: Path, monkeypatch) -> None:
    for name in [name for name in os.environ if name.startswith("SOFTSWITCH_")]:
        monkeypatch.delenv(name)
    config = tmp_path / "softswitch.toml"
    config.write_text('sip_port = 5070\nrealm = "from-file"\nnode = "from-file"\n')

    defaults = load_settings()
    assert (defaults.sip_host, defaults.sip_port, defaults.realm) == ("0.0.0.0", 5060, "softswitch")
    assert defaults.database_url is None and defaults.node

    monkeypatch.setenv("SOFTSWITCH_REALM", "from-env")
    settings = load_settings(config, node="from-flag", sip_host=None)
    assert (settings.sip_port, settings.realm, settings.node) == (5070, "from-env", "from-flag")
    assert settings.sip_host == "0.0.0.0"  # a flag left out does not override

    monkeypatch.setenv("SOFTSWITCH_CONFIG", str(config))
    assert load_settings().sip_port == 5070


def test_settings_errors_are_one_line(tmp_path: Path, monkeypatch) -> None:
    for name in [name for name in os.environ if name.startswith("SOFTSWITCH_")]:
        monkeypatch.delenv(name)
    bad = tmp_path / "bad.toml"
    for text, expected in [
        ("sip_port = 70000\n", "sip_port"),
        ("sip_prot = 5060\n", "unknown setting"),
        ("min_expires = 7200\n", "min_expires <= default_expires"),
        ("sip_t1 = 5.0\n", "sip_t1 must not exceed sip_t2"),
        ("sip_port = \n", "not valid TOML"),
    ]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=expected) as info:
            load_settings(bad)
        assert "\n" not in str(info.value)
