"""The benchmark network, provisioned as an admin would: exchanges and the dialplan with the
`softswitch` command, the many lines through the store API (one command per line would spend
minutes starting Python).

    BEN   prefix 55   the subscriber lines 5500000..., password "pw-<number>"
    PEER  prefix 7    a peer exchange behind a trunk: the sipp UAS (trusted by address)
    ORIG  prefix 8    a peer exchange whose trunk is the sipp UAC, so its calls are trusted

Calls dial `CALLED_NUMBER`, which the dialplan sends to PEER's trunk.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from softswitch.sip.digest import compute_ha1
from softswitch.store import Binding, Store

REALM = "bench"
LINE_PREFIX = "55"
FIRST_LINE = 5_500_000
CALLED_NUMBER = "7000001"
HOST = "127.0.0.1"

DIALPLAN = """\
[settings]
timezone = "UTC"

[[rule]]
name = "bench-lines"
prefix = "55"
deliver = { exchange = "BEN" }

[[rule]]
name = "bench-peer"
prefix = "7"
deliver = { exchange = "PEER" }

"""


def line_numbers(count: int) -> Iterator[str]:
    return (str(FIRST_LINE + i) for i in range(count))


def password(number: str) -> str:
    return f"pw-{number}"


def softswitch_command(database_url: str, *args: str, stdin: str | None = None) -> str:
    """Run `softswitch ARGS --database-url URL` (in the benchmark's realm); its output, or an
    error with its stderr."""
    argv = [sys.executable, "-m", "softswitch", *args, "--database-url", database_url]
    env = {**os.environ, "SOFTSWITCH_REALM": REALM}
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"softswitch {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def provision_network(
    database_url: str,
    workdir: Path,
    *,
    lines: int,
    uas_port: int,
    uac_port: int | None,
) -> None:
    """Exchanges, `lines` lines (the first added by the command, the rest through the store)
    and the dialplan. With `uac_port` None, no ORIG exchange: the UAC's calls must then
    authenticate as a line."""
    softswitch_command(database_url, "exchange", "add", "BEN", "--name", "Bench", "--prefix", "55")
    peers = [("PEER", "Peer", "7", uas_port)]
    if uac_port is not None:
        peers.append(("ORIG", "Origin", "8", uac_port))
    for code, name, prefix, port in peers:
        trunk = f"sip:{HOST}:{port}"
        add = ["exchange", "add", code, "--name", name, "--prefix", prefix, "--trunk", trunk]
        softswitch_command(database_url, *add)
    numbers = list(line_numbers(lines))
    if numbers:
        first, rest = numbers[0], numbers[1:]
        add = ["line", "add", first, "--exchange", "BEN", "--password-stdin"]
        softswitch_command(database_url, *add, stdin=password(first) + "\n")
        asyncio.run(add_lines(database_url, rest))
    folder = workdir / "dialplan"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "00-bench.toml").write_text(DIALPLAN)
    softswitch_command(database_url, "dialplan", "apply", str(folder), "--comment", "benchmark")


async def add_lines(database_url: str, numbers: list[str], *, concurrency: int = 8) -> None:
    """Add lines through `Store.add_line`, `concurrency` at a time."""
    store = await Store.open(database_url, min_size=concurrency, max_size=concurrency)
    try:
        await store.migrate()
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start : start + 1000]
            for part in range(0, len(chunk), concurrency):
                await asyncio.gather(
                    *(_add_line(store, n) for n in chunk[part : part + concurrency])
                )
    finally:
        await store.close()


async def _add_line(store: Store, number: str) -> None:
    secret = password(number)
    await store.add_line(
        number,
        "BEN",
        None,
        compute_ha1(number, REALM, secret, "MD5"),
        compute_ha1(number, REALM, secret, "SHA-256"),
    )


async def add_bindings(database_url: str, numbers: list[str], *, expires_in: float = 3600) -> None:
    """One registered contact per line, written as the registrar writes them
    (`Store.write_bindings`, concurrent writes group-committed)."""
    store = await Store.open(database_url)
    now = time.time()
    try:
        for start in range(0, len(numbers), 2000):
            await asyncio.gather(
                *(
                    store.write_bindings(
                        number, [sample_binding(number, i + start, now + expires_in)]
                    )
                    for i, number in enumerate(numbers[start : start + 2000])
                )
            )
    finally:
        await store.close()


def sample_binding(number: str, index: int, expires_at: float) -> Binding:
    port = 10_000 + index % 50_000
    return Binding(
        line_number=number,
        contact=f"sip:{number}@192.0.2.{1 + index % 250}:{port};transport=udp",
        expires_at=expires_at,
        call_id=f"bench-{index}@192.0.2.1",
        cseq=1,
        source_transport="udp",
        source_host=f"192.0.2.{1 + index % 250}",
        source_port=port,
        local_port=5060,
        node="bench",
        user_agent="bench/1.0",
    )


def injection_file(path: Path, count: int, expires: int = 3600) -> Path:
    """sipp's injection file of the lines: number; password; expiry; authentication keyword."""
    rows = (
        f"{n};{password(n)};{expires};[authentication username={n} password={password(n)}]\n"
        for n in line_numbers(count)
    )
    path.write_text("SEQUENTIAL\n" + "".join(rows))
    return path
