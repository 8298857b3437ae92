"""Commands for the network itself: run the exchange, migrate the database, and provision
exchanges, lines and (read-only) their registrations."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import inspect
import sys
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from softswitch.config import Settings
from softswitch.sip.digest import compute_ha1
from softswitch.store import (
    Binding,
    Exchange,
    Line,
    Store,
    UnknownExchangeError,
    UnknownLineError,
)

from .common import EXIT_OK, CliError, address, duration, out, run_with_store, table

__all__ = ["register"]

T = TypeVar("T")


def register(commands: Any, flags: argparse.ArgumentParser) -> None:
    """Add serve, db, exchange, line and bindings to `commands` (a subparsers action)."""
    serve = commands.add_parser("serve", parents=[flags], help="run the exchange")
    serve.add_argument("--sip-host", metavar="ADDRESS", help="address to listen on for SIP")
    serve.add_argument("--sip-port", metavar="PORT", type=int, help="UDP and TCP port for SIP")
    serve.add_argument(
        "--workers",
        metavar="N",
        type=int,
        help="worker processes, one per core (worker i also listens on the SIP port + i)",
    )
    serve.add_argument("--http-host", metavar="ADDRESS", help="address of the operator console")
    serve.add_argument(
        "--http-port", metavar="PORT", type=int, help="port of the operator console (HTTP)"
    )
    serve.add_argument("--demo", action="store_true", help="start with the example network")
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    migrate = db_commands.add_parser("migrate", parents=[flags], help="apply missing migrations")
    migrate.set_defaults(handler=_db_migrate)

    exchange = commands.add_parser("exchange", help="county exchanges")
    exchange_commands = exchange.add_subparsers(
        dest="exchange_command", metavar="COMMAND", required=True
    )
    add = exchange_commands.add_parser("add", parents=[flags], help="add an exchange")
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
    listing = exchange_commands.add_parser("list", parents=[flags], help="list exchanges")
    listing.set_defaults(handler=_exchange_list)
    trunk_password = exchange_commands.add_parser(
        "set-trunk-password",
        parents=[flags],
        help="digest credentials the peer exchange may authenticate its calls with",
    )
    trunk_password.add_argument("code", metavar="CODE", type=str.upper)
    trunk_password.add_argument("--username", required=True, help="the peer's digest user name")
    _add_password_flags(trunk_password, allow_none=False)
    trunk_password.set_defaults(handler=_exchange_set_trunk_password)

    line = commands.add_parser("line", help="subscriber lines")
    line_commands = line.add_subparsers(dest="line_command", metavar="COMMAND", required=True)
    add = line_commands.add_parser("add", parents=[flags], help="add a line")
    add.add_argument("number", metavar="NUMBER", help="the line's number (digits)")
    add.add_argument(
        "--exchange", required=True, metavar="CODE", type=str.upper, help="its exchange"
    )
    add.add_argument("--name", help="display name")
    add.add_argument("--class", dest="line_class", default="residential", help="line class")
    add.add_argument("--jack", metavar="LABEL", help="its jack on the manual switchboard")
    _add_password_flags(add, allow_none=True)
    add.set_defaults(handler=_line_add)
    listing = line_commands.add_parser("list", parents=[flags], help="list lines")
    listing.add_argument(
        "--exchange", metavar="CODE", type=str.upper, help="only the lines of this exchange"
    )
    listing.set_defaults(handler=_line_list)
    remove = line_commands.add_parser("remove", parents=[flags], help="remove a line")
    remove.add_argument("number", metavar="NUMBER")
    remove.set_defaults(handler=_line_remove)
    password = line_commands.add_parser(
        "set-password", parents=[flags], help="set a line's SIP password"
    )
    password.add_argument("number", metavar="NUMBER")
    _add_password_flags(password, allow_none=False)
    password.set_defaults(handler=_line_set_password)

    bindings = commands.add_parser("bindings", parents=[flags], help="show who is registered")
    bindings.add_argument("--line", metavar="NUMBER")
    bindings.set_defaults(handler=_bindings)


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

    run_with_store(settings, nothing_more, report_migrations=True)
    return EXIT_OK


def _exchange_add(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> Exchange:
        return await store.add_exchange(
            args.code, args.name, args.prefix, mode=args.mode, trunk_uris=args.trunks
        )

    exchange = run_with_store(settings, action)
    where = ", ".join(exchange.trunk_uris) if exchange.trunk_uris else "served here"
    out(
        f"added exchange {exchange.code} ({exchange.name}): prefix {exchange.prefix}, "
        f"{exchange.mode}, {where}"
    )
    return EXIT_OK


def _exchange_list(args: argparse.Namespace, settings: Settings) -> int:
    exchanges = run_with_store(settings, lambda store: store.list_exchanges())
    if not exchanges:
        out("no exchanges")
        return EXIT_OK
    rows = [
        [e.code, e.name, e.prefix, e.mode, ", ".join(e.trunk_uris) or "served here"]
        for e in exchanges
    ]
    out(table(["CODE", "NAME", "PREFIX", "MODE", "ROUTE"], rows))
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

    line = run_with_store(settings, action)
    credentials = "with SIP credentials" if line.has_credentials else "without SIP credentials"
    out(f"added line {line.number} to exchange {line.exchange_code}, {credentials}")
    return EXIT_OK


def _line_list(args: argparse.Namespace, settings: Settings) -> int:
    lines = run_with_store(settings, lambda store: store.list_lines(args.exchange))
    if not lines:
        out("no lines")
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
    out(table(["NUMBER", "EXCHANGE", "NAME", "CLASS", "JACK", "SIP"], rows))
    return EXIT_OK


def _exchange_set_trunk_password(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> None:
        if await store.get_exchange(args.code) is None:
            raise UnknownExchangeError(args.code)
        password = _read_password(args, f"trunk {args.username}")
        await store.set_trunk_credentials(
            args.code,
            args.username,
            compute_ha1(args.username, settings.realm, password, "MD5"),
            compute_ha1(args.username, settings.realm, password, "SHA-256"),
        )

    run_with_store(settings, action)
    out(f"trunk credentials of exchange {args.code} set (user {args.username})")
    return EXIT_OK


def _line_remove(args: argparse.Namespace, settings: Settings) -> int:
    run_with_store(settings, lambda store: store.remove_line(args.number))
    out(f"removed line {args.number}")
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

    run_with_store(settings, action)
    out(f"password of line {args.number} set")
    return EXIT_OK


def _bindings(args: argparse.Namespace, settings: Settings) -> int:
    now = time.time()

    async def action(store: Store) -> list[Binding]:
        if args.line is not None and await store.get_line(args.line) is None:
            raise UnknownLineError(args.line)
        return await store.load_bindings(now, line=args.line)

    bindings = run_with_store(settings, action)
    if not bindings:
        out("no bindings" if args.line is None else f"no bindings for line {args.line}")
        return EXIT_OK
    rows = [
        [
            b.line_number,
            b.contact,
            address(b.source_host, b.source_port),
            b.source_transport.upper(),
            duration(b.expires_at - now),
            b.user_agent or "",
            b.node,
        ]
        for b in bindings
    ]
    headers = ["LINE", "CONTACT", "SOURCE", "TRANSPORT", "EXPIRES IN", "USER AGENT", "NODE"]
    out(table(headers, rows))
    return EXIT_OK


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
    who = number if number.startswith("trunk ") else f"line {number}"
    password = getpass.getpass(f"SIP password for {who}: ")
    if not password:
        raise CliError("the password must not be empty")
    if getpass.getpass("Again: ") != password:
        raise CliError("the passwords do not match")
    return password
