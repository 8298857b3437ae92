"""What every command shares: one-line errors, the settings flags, tables, the store."""

from __future__ import annotations

import argparse
import asyncio
import sys
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
    "report",
    "run_with_store",
    "settings_flags",
    "table",
]

PROG = "softswitch"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


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


def out(text: str) -> None:
    sys.stdout.write(text + "\n")


def report(problem: object) -> None:
    message = " ".join(str(problem).split()) or type(problem).__name__
    sys.stderr.write(f"{PROG}: error: {message}\n")
