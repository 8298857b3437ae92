"""`softswitch operator ...`: the operators who answer queued calls, and their console
passwords (kept as argon2 hashes)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from softswitch.config import Settings
from softswitch.queue import WeakPasswordError, add_operator, set_password
from softswitch.store import OperatorRow, Store, UnknownLineError, UnknownOperatorError

from .common import EXIT_OK, CliError, local_time, out, run_with_store, table

__all__ = ["register"]


def register(commands: Any, flags: argparse.ArgumentParser) -> None:
    """Add `operator add|list|remove|set-password` to `commands`."""
    operator = commands.add_parser("operator", help="operators of the queues")
    sub = operator.add_subparsers(dest="operator_command", metavar="COMMAND", required=True)

    add = sub.add_parser("add", parents=[flags], help="add an operator")
    add.add_argument("login", metavar="LOGIN", help="console login (a-z, 0-9, . _ -)")
    add.add_argument(
        "--line", required=True, metavar="NUMBER", help="the line of the operator's phone"
    )
    add.add_argument(
        "--queues",
        required=True,
        metavar="Q,Q",
        type=_queues,
        help="the queues served, comma-separated: exchange codes or queue names (ASH,CED)",
    )
    add.add_argument("--name", help="display name")
    _password_flag(add)
    add.set_defaults(handler=_add)

    listing = sub.add_parser("list", parents=[flags], help="list operators and positions")
    listing.set_defaults(handler=_list)

    remove = sub.add_parser("remove", parents=[flags], help="remove an operator")
    remove.add_argument("login", metavar="LOGIN")
    remove.set_defaults(handler=_remove)

    password = sub.add_parser(
        "set-password", parents=[flags], help="set an operator's console password"
    )
    password.add_argument("login", metavar="LOGIN")
    _password_flag(password)
    password.set_defaults(handler=_set_password)


def _password_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the console password from the first line of stdin (otherwise: prompt)",
    )


def _add(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> OperatorRow:
        # Check before asking for a password that would be thrown away.
        if await store.get_line(args.line) is None:
            raise UnknownLineError(args.line)
        if await store.get_operator(args.login) is not None:
            raise CliError(f"operator {args.login} already exists")
        password = _read_password(args)
        try:
            return await add_operator(
                store, args.login, args.line, password, args.queues, args.name
            )
        except WeakPasswordError as exc:
            raise CliError(str(exc)) from exc

    operator = run_with_store(settings, action)
    out(
        f"added operator {operator.login} on line {operator.line_number}, "
        f"serving {', '.join(operator.queues)}"
    )
    return EXIT_OK


def _list(args: argparse.Namespace, settings: Settings) -> int:
    operators = run_with_store(settings, lambda store: store.list_operators())
    if not operators:
        out("no operators")
        return EXIT_OK
    rows = [
        [
            o.login,
            o.display_name or "",
            o.line_number,
            ",".join(o.queues),
            o.position + (f" ({o.position_reason})" if o.position_reason else ""),
            local_time(o.position_since),
        ]
        for o in operators
    ]
    out(table(["LOGIN", "NAME", "LINE", "QUEUES", "POSITION", "SINCE"], rows))
    return EXIT_OK


def _remove(args: argparse.Namespace, settings: Settings) -> int:
    run_with_store(settings, lambda store: store.remove_operator(args.login))
    out(f"removed operator {args.login}")
    return EXIT_OK


def _set_password(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> None:
        if await store.get_operator(args.login) is None:
            raise UnknownOperatorError(args.login)
        try:
            await set_password(store, args.login, _read_password(args))
        except WeakPasswordError as exc:
            raise CliError(str(exc)) from exc

    run_with_store(settings, action)
    out(f"password of operator {args.login} set")
    return EXIT_OK


def _queues(text: str) -> list[str]:
    queues = [part.strip() for part in text.split(",") if part.strip()]
    if not queues:
        raise argparse.ArgumentTypeError("name at least one queue, e.g. ASH or ASH,CED")
    return list(dict.fromkeys(queues))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin")
        return password
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password; use --password-stdin")
    password = getpass.getpass(f"Console password for operator {args.login}: ")
    if getpass.getpass("Again: ") != password:
        raise CliError("the passwords do not match")
    return password
