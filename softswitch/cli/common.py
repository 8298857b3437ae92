"""What every command shares: one-line errors, the settings flags, tables, the store."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import NoReturn, TypeVar

from softswitch.config import Settings, resolve_database_url
from softswitch.store import Store

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "CliError",
    "Parser",
    "address",
    "duration",
    "local_time",
    "out",
    "parse_since",
    "report",
    "run_with_store",
    "settings_flags",
    "table",
]

PROG = "softswitch"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")

_RELATIVE = re.compile(r"(?:\d+[smhdw])+")
_UNIT = re.compile(r"(\d+)([smhdw])")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


class Parser(argparse.ArgumentParser):
    """Reports usage errors in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def settings_flags() -> argparse.ArgumentParser:
    """The flags every command that reads the settings takes (a parent parser)."""
    flags = Parser(add_help=False)
    group = flags.add_argument_group("settings")
    group.add_argument("--config", metavar="FILE", help="TOML settings file ($SOFTSWITCH_CONFIG)")
    group.add_argument("--data-dir", metavar="DIR", help="data folder (embedded PostgreSQL)")
    group.add_argument(
        "--database-url", metavar="URL", help="PostgreSQL URL; without it, an embedded server"
    )
    group.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error", "critical"],
        help="logging threshold (admin commands log warnings and worse unless debug)",
    )
    return flags


def run_with_store(
    settings: Settings,
    action: Callable[[Store], Awaitable[T]],
    *,
    report_migrations: bool = False,
) -> T:
    """Open the store (starting the embedded server if configured so), migrate, run `action`."""
    url = resolve_database_url(settings)

    async def run() -> T:
        store = await Store.open(url, min_size=1, max_size=2)
        try:
            applied = await store.migrate()
            if report_migrations:
                for migration in applied:
                    out(f"applied {migration.label}")
                if not applied:
                    out("database is up to date")
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def local_time(seconds: float) -> str:
    """Epoch seconds as this machine's local time, to the second."""
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def parse_since(text: str) -> float:
    """A `--since` value as epoch seconds: a local time ('2024-05-06 08:00') or an age (90m,
    1h, 2d, 1h30m)."""
    text = text.strip()
    if _RELATIVE.fullmatch(text):
        age = sum(int(n) * _SECONDS[unit] for n, unit in _UNIT.findall(text))
        return time.time() - age
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give a time ('2024-05-06 08:00') or an age (90m, 1h, 2d), not {text!r}"
        ) from None
    return moment.timestamp()  # a time without a zone is this machine's local time


def out(text: str) -> None:
    sys.stdout.write(text + "\n")


def report(problem: object) -> None:
    message = " ".join(str(problem).split()) or type(problem).__name__
    sys.stderr.write(f"{PROG}: error: {message}\n")
