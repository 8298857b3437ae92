"""The `softswitch` command: run the exchange and administer its exchanges and lines."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import inspect
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, TypeVar

from softswitch.config import ConfigError, Settings, load_settings, resolve_database_url
from softswitch.sip.digest import compute_ha1
from softswitch.store import Binding, Exchange, Line, Store, StoreError, UnknownLineError

__all__ = ["main"]

log = logging.getLogger("softswitch.cli")

PROG = "softswitch"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

T = TypeVar("T")


class CliError(Exception):
    """A failure to report as one line on stderr (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """Reports usage errors in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported by the parser
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        settings = load_settings(
            args.config,
            data_dir=args.data_dir,
            database_url=args.database_url,
            log_level=args.log_level,
            sip_host=getattr(args, "sip_host", None),
            sip_port=getattr(args, "sip_port", None),
        )
        _configure_logging(settings, quiet=args.command != "serve")
        return int(args.handler(args, settings) or EXIT_OK)
    except (CliError, ConfigError, StoreError) as exc:
        _report(exc)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: still one line, the traceback in the debug log
        log.debug("unexpected error", exc_info=True)
        _report(f"unexpected {type(exc).__name__}: {exc}")
        return EXIT_FAILURE


# -- parser -------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    settings_flags = _Parser(add_help=False)
    group = settings_flags.add_argument_group("settings")
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

    parser = _Parser(prog=PROG, description="An automated SIP exchange for county networks.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", parents=[settings_flags], help="run the exchange")
    serve.add_argument("--sip-host", metavar="ADDRESS", help="address to listen on for SIP")
    serve.add_argument("--sip-port", metavar="PORT", type=int, help="UDP and TCP port for SIP")
    serve.add_argument("--demo", action="store_true", help="start with the example network")
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    migrate = db_commands.add_parser(
        "migrate", parents=[settings_flags], help="apply missing migrations"
    )
    migrate.set_defaults(handler=_db_migrate)

    exchange = commands.add_parser("exchange", help="county exchanges")
    exchange_commands = exchange.add_subparsers(
        dest="exchange_command", metavar="COMMAND", required=True
    )
    add = exchange_commands.add_parser("add", parents=[settings_flags], help="add an exchange")
    add.add_argument("code", metavar="CODE", type=str.upper, help="exchange code, e.g. MILL")
    add.add_argument("--name", required=True, help="the exchange's name")
    add.add_argument("--prefix", required=True, metavar="DIGITS", help="its number prefix")
    add.add_argument("--mode", choices=["automated", "manual"], default="automated")
    add.add_argument(
        "--trunk",
        dest="trunks",
        metavar="URI",
        action="extend",
        nargs="+",
        default=[],
        help="SIP URI of the peer serving the exchange (repeat for more, tried in order)",
    )
    add.set_defaults(handler=_exchange_add)
    listing = exchange_commands.add_parser("list", parents=[settings_flags], help="list exchanges")
    listing.set_defaults(handler=_exchange_list)

    line = commands.add_parser("line", help="subscriber lines")
    line_commands = line.add_subparsers(dest="line_command", metavar="COMMAND", required=True)
    add = line_commands.add_parser("add", parents=[settings_flags], help="add a line")
    add.add_argument("number", metavar="NUMBER", help="the line's number (digits)")
    add.add_argument(
        "--exchange", required=True, metavar="CODE", type=str.upper, help="its exchange"
    )
    add.add_argument("--name", help="display name")
    add.add_argument("--class", dest="line_class", default="residential", help="line class")
    add.add_argument("--jack", metavar="LABEL", help="its jack on the manual switchboard")
    _add_password_flags(add, allow_none=True)
    add.set_defaults(handler=_line_add)
    listing = line_commands.add_parser("list", parents=[settings_flags], help="list lines")
    listing.add_argument(
        "--exchange", metavar="CODE", type=str.upper, help="only the lines of this exchange"
    )
    listing.set_defaults(handler=_line_list)
    remove = line_commands.add_parser("remove", parents=[settings_flags], help="remove a line")
    remove.add_argument("number", metavar="NUMBER")
    remove.set_defaults(handler=_line_remove)
    password = line_commands.add_parser(
        "set-password", parents=[settings_flags], help="set a line's SIP password"
    )
    password.add_argument("number", metavar="NUMBER")
    _add_password_flags(password, allow_none=False)
    password.set_defaults(handler=_line_set_password)

    bindings = commands.add_parser(
        "bindings", parents=[settings_flags], help="show who is registered"
    )
    bindings.add_argument("--line", metavar="NUMBER")
    bindings.set_defaults(handler=_bindings)
    return parser


def _add_password_flags(parser: argparse.ArgumentParser, *, allow_none: bool) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the SIP password from the first line of stdin (otherwise: prompt)",
    )
    if allow_none:
        choice.add_argument(
            "--no-password",
            action="store_true",
            help="no SIP credentials (a line still on a manual switchboard)",
        )


# -- commands -----------------------------------------------------------------------------


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from softswitch.server import run
    except ModuleNotFoundError as exc:
        if exc.name != "softswitch.server":
            raise
        raise CliError("this build has no server (softswitch.server is missing)") from exc
    result: Any = run(settings, demo=args.demo)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return int(result or EXIT_OK)


def _db_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def nothing_more(store: Store) -> None:
        return None

    _run_with_store(settings, nothing_more, report_migrations=True)
    return EXIT_OK


def _exchange_add(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> Exchange:
        return await store.add_exchange(
            args.code, args.name, args.prefix, mode=args.mode, trunk_uris=args.trunks
        )

    exchange = _run_with_store(settings, action)
    where = ", ".join(exchange.trunk_uris) if exchange.trunk_uris else "served here"
    _out(
        f"added exchange {exchange.code} ({exchange.name}): prefix {exchange.prefix}, "
        f"{exchange.mode}, {where}"
    )
    return EXIT_OK


def _exchange_list(args: argparse.Namespace, settings: Settings) -> int:
    exchanges = _run_with_store(settings, lambda store: store.list_exchanges())
    if not exchanges:
        _out("no exchanges")
        return EXIT_OK
    rows = [
        [e.code, e.name, e.prefix, e.mode, ", ".join(e.trunk_uris) or "served here"]
        for e in exchanges
    ]
    _out(_table(["CODE", "NAME", "PREFIX", "MODE", "ROUTE"], rows))
    return EXIT_OK


def _line_add(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> Line:
        # Check before asking for a password that would be thrown away.
        if await store.get_exchange(args.exchange) is None:
            raise CliError(f"no exchange {args.exchange}")
        if await store.get_line(args.number) is not None:
            raise CliError(f"line {args.number} already exists")
        ha1_md5 = ha1_sha256 = None
        if not args.no_password:
            password = _read_password(args, args.number)
            ha1_md5 = compute_ha1(args.number, settings.realm, password, "MD5")
            ha1_sha256 = compute_ha1(args.number, settings.realm, password, "SHA-256")
        return await store.add_line(
            args.number,
            args.exchange,
            args.name,
            ha1_md5,
            ha1_sha256,
            line_class=args.line_class,
            jack_label=args.jack,
        )

    line = _run_with_store(settings, action)
    credentials = "with SIP credentials" if line.has_credentials else "without SIP credentials"
    _out(f"added line {line.number} to exchange {line.exchange_code}, {credentials}")
    return EXIT_OK


def _line_list(args: argparse.Namespace, settings: Settings) -> int:
    lines = _run_with_store(settings, lambda store: store.list_lines(args.exchange))
    if not lines:
        _out("no lines")
        return EXIT_OK
    rows = [
        [
            line.number,
            line.exchange_code,
            line.display_name or "",
            line.line_class,
            line.jack_label or "",
            "yes" if line.has_credentials else "no",
        ]
        for line in lines
    ]
    _out(_table(["NUMBER", "EXCHANGE", "NAME", "CLASS", "JACK", "SIP"], rows))
    return EXIT_OK


def _line_remove(args: argparse.Namespace, settings: Settings) -> int:
    _run_with_store(settings, lambda store: store.remove_line(args.number))
    _out(f"removed line {args.number}")
    return EXIT_OK


def _line_set_password(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> None:
        if await store.get_line(args.number) is None:
            raise UnknownLineError(args.number)
        password = _read_password(args, args.number)
        await store.set_line_credentials(
            args.number,
            compute_ha1(args.number, settings.realm, password, "MD5"),
            compute_ha1(args.number, settings.realm, password, "SHA-256"),
        )

    _run_with_store(settings, action)
    _out(f"password of line {args.number} set")
    return EXIT_OK


def _bindings(args: argparse.Namespace, settings: Settings) -> int:
    now = time.time()

    async def action(store: Store) -> list[Binding]:
        if args.line is not None and await store.get_line(args.line) is None:
            raise UnknownLineError(args.line)
        return await store.load_bindings(now, line=args.line)

    bindings = _run_with_store(settings, action)
    if not bindings:
        _out("no bindings" if args.line is None else f"no bindings for line {args.line}")
        return EXIT_OK
    rows = [
        [
            b.line_number,
            b.contact,
            _address(b.source_host, b.source_port),
            b.source_transport.upper(),
            _duration(b.expires_at - now),
            b.user_agent or "",
            b.node,
        ]
        for b in bindings
    ]
    headers = ["LINE", "CONTACT", "SOURCE", "TRANSPORT", "EXPIRES IN", "USER AGENT", "NODE"]
    _out(_table(headers, rows))
    return EXIT_OK


# -- helpers ------------------------------------------------------------------------------


def _run_with_store(
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
                    _out(f"applied {migration.label}")
                if not applied:
                    _out("database is up to date")
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _read_password(args: argparse.Namespace, number: str) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin")
    password = getpass.getpass(f"SIP password for line {number}: ")
    if not password:
        raise CliError("the password must not be empty")
    if getpass.getpass("Again: ") != password:
        raise CliError("the passwords do not match")
    return password


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(header) for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _configure_logging(settings: Settings, *, quiet: bool) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    if quiet and settings.log_level != "debug":
        # Admin commands print their result; only problems go to the log.
        level = max(level, logging.WARNING)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.log_level == "debug":
        logging.getLogger("pgserver").setLevel(logging.DEBUG)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _report(problem: object) -> None:
    message = " ".join(str(problem).split()) or type(problem).__name__
    sys.stderr.write(f"{PROG}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
