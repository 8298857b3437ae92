"""`softswitch dialplan ...`: check the files, apply them as a new version, list versions, roll
back, compare, and explain where a call goes.

Files are checked against the exchanges and lines in the database (unless `check --offline`),
and a dialplan with errors never becomes the active version. A version stores each file under
its base name (`10-ashford.toml`), so versions and the files on disk compare rule by rule
whatever folder the files were applied from.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from softswitch.config import Settings
from softswitch.routing import (
    Diagnostic,
    Dialplan,
    DialplanError,
    DialplanSource,
    Directory,
    Router,
    check_dialplan,
    compile_dialplan,
    diff_dialplans,
    load_dialplan,
    read_sources,
)
from softswitch.store import Store

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    CliError,
    local_time,
    out,
    report,
    run_with_store,
    table,
)

__all__ = ["register"]


def register(commands: Any, flags: argparse.ArgumentParser) -> None:
    """Add `dialplan check|apply|versions|rollback|diff|explain` to `commands`."""
    dialplan = commands.add_parser("dialplan", help="check, apply and roll back dialplans")
    sub = dialplan.add_subparsers(dest="dialplan_command", metavar="COMMAND", required=True)

    check = sub.add_parser(
        "check", parents=[flags], help="report the mistakes in dialplan files as file:line"
    )
    _add_files(check)
    check.add_argument(
        "--offline",
        action="store_true",
        help="check the files alone, not against the exchanges and lines in the database",
    )
    check.set_defaults(handler=_check)

    apply = sub.add_parser(
        "apply", parents=[flags], help="check the files and make them the active dialplan"
    )
    _add_files(apply)
    apply.add_argument("--comment", metavar="TEXT", help="what changed, kept with the version")
    apply.set_defaults(handler=_apply)

    versions = sub.add_parser("versions", parents=[flags], help="list the applied versions")
    versions.set_defaults(handler=_versions)

    rollback = sub.add_parser(
        "rollback", parents=[flags], help="make an earlier version the active one again"
    )
    rollback.add_argument("version", metavar="N", type=_version_number, help="version number")
    rollback.set_defaults(handler=_rollback)

    diff = sub.add_parser(
        "diff", parents=[flags], help="what changed between versions or the files on disk"
    )
    diff.add_argument(
        "--from",
        dest="from_version",
        metavar="N",
        type=_version_number,
        help="compare from version N (default: the active version)",
    )
    diff.add_argument(
        "--to",
        dest="to_version",
        metavar="N",
        type=_version_number,
        help="compare to version N (default: the files on disk)",
    )
    _add_files(diff)
    diff.set_defaults(handler=_diff)

    explain = sub.add_parser(
        "explain", parents=[flags], help="where a call goes, rule by rule, and why"
    )
    explain.add_argument(
        "--from", dest="caller", metavar="CALLER", required=True, help="the calling line"
    )
    explain.add_argument("number", metavar="NUMBER", help="the number as dialed")
    explain.add_argument(
        "--at",
        metavar="'YYYY-MM-DD HH:MM'",
        type=_moment,
        help="the time of the call, in the dialplan's time zone (default: now)",
    )
    explain.add_argument(
        "--files",
        nargs="+",
        metavar="FILE",
        help="explain with these files or folders (default: the active version)",
    )
    explain.add_argument(
        "--verbose", action="store_true", help="list every rule tried, not only near misses"
    )
    explain.set_defaults(handler=_explain)


def _add_files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="dialplan files or folders of *.toml files (default: the dialplan_dir setting)",
    )


# -- commands -----------------------------------------------------------------------------


def _check(args: argparse.Namespace, settings: Settings) -> int:
    files = _Files.read(args.files, settings)
    try:
        plan = load_dialplan(files.sources)
    except DialplanError as exc:
        return _summarize(exc.diagnostics, files, None)
    directory = None if args.offline else run_with_store(settings, _directory)
    status = _summarize(check_dialplan(plan, directory), files, plan)
    if status != EXIT_OK and directory is not None and not directory.exchanges():
        out(
            "the database has no exchanges yet: add them with 'softswitch exchange add', "
            "or check the files alone with --offline"
        )
    return status


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    files = _Files.read(args.files, settings)
    named = files.by_base_name()
    problems: list[Diagnostic] = []
    try:
        plan = load_dialplan(files.sources)
    except DialplanError as exc:
        plan, problems = None, list(exc.diagnostics)

    async def action(store: Store) -> tuple[int | None, int | None]:
        active = await store.active_dialplan()
        current = active[0] if active is not None else None
        if plan is not None:
            problems.extend(check_dialplan(plan, await _directory(store)))
        if any(problem.is_error for problem in problems):
            return current, None
        if active is not None and active[1] == named:
            return current, current
        return current, await store.save_dialplan(named, args.comment or None)

    current, applied = run_with_store(settings, action)
    _print_problems(problems)
    errors = sum(problem.is_error for problem in problems)
    if applied is None:
        stays = f"version {current} stays active" if current else "no version is active"
        report(f"dialplan not applied: {_count(errors, 'error')}; {stays}")
        return EXIT_FAILURE
    assert plan is not None
    if applied == current:
        out(f"dialplan unchanged: version {applied} is active")
    else:
        out(f"dialplan version {applied} is active ({_size(plan)})")
    return EXIT_OK


def _versions(args: argparse.Namespace, settings: Settings) -> int:
    versions = run_with_store(settings, lambda store: store.list_dialplan_versions())
    if not versions:
        out("no dialplan versions")
        return EXIT_OK
    rows = [
        [
            str(v.version),
            "yes" if v.active else "",
            local_time(v.created_at),
            v.comment or "",
            ", ".join(v.files),
        ]
        for v in versions
    ]
    out(table(["VERSION", "ACTIVE", "CREATED", "COMMENT", "FILES"], rows))
    return EXIT_OK


def _rollback(args: argparse.Namespace, settings: Settings) -> int:
    version: int = args.version

    async def action(store: Store) -> int | None:
        sources = await store.dialplan_version(version)
        active = await store.active_dialplan()
        current = active[0] if active is not None else None
        if current == version:
            return current
        try:
            plan = load_dialplan(sources)
        except DialplanError as exc:
            _print_problems(exc.diagnostics)
            raise CliError(f"dialplan version {version} cannot be loaded any more") from exc
        problems = check_dialplan(plan, await _directory(store))
        _print_problems(problems)
        errors = sum(problem.is_error for problem in problems)
        if errors:
            stays = f"version {current} stays active" if current else "no version is active"
            raise CliError(f"not rolled back: {_count(errors, 'error')}; {stays}")
        await store.activate_dialplan(version)
        return current

    previous = run_with_store(settings, action)
    if previous == version:
        out(f"dialplan version {version} is already active")
    else:
        was = f" (was version {previous})" if previous is not None else ""
        out(f"dialplan version {version} is active{was}")
    return EXIT_OK


def _diff(args: argparse.Namespace, settings: Settings) -> int:
    files = None
    if args.to_version is None:
        files = _Files.read(args.files, settings)
        load_dialplan(files.sources)  # problems reported with the files' own paths
    elif args.files:
        raise CliError("give files or --to, not both")

    async def action(store: Store) -> tuple[str, dict[str, str], str, dict[str, str]]:
        if args.from_version is not None:
            old_label = f"version {args.from_version}"
            old = await store.dialplan_version(args.from_version)
        else:
            active = await store.active_dialplan()
            old_label = f"version {active[0]} (active)" if active else "nothing (no version)"
            old = active[1] if active else {}
        if args.to_version is not None:
            new = await store.dialplan_version(args.to_version)
            return old_label, old, f"version {args.to_version}", new
        assert files is not None
        return old_label, old, files.label, files.by_base_name()

    old_label, old, new_label, new = run_with_store(settings, action)
    out(f"from: {old_label}")
    out(f"to:   {new_label}")
    out(diff_dialplans(_load_stored(old), _load_stored(new)).render())
    return EXIT_OK


def _explain(args: argparse.Namespace, settings: Settings) -> int:
    caller_number: str = args.caller
    if not caller_number.isdigit():
        raise CliError(f"--from takes the calling line's number (digits), not {caller_number!r}")
    files = _Files.read(args.files, settings) if args.files else None

    async def action(store: Store) -> tuple[str, Mapping[str, str] | None, Directory]:
        directory = await _directory(store)
        if files is not None:
            return files.label, None, directory
        active = await store.active_dialplan()
        if active is not None:
            return f"version {active[0]} (active)", active[1], directory
        return "", None, directory

    label, stored, directory = run_with_store(settings, action)
    if stored is not None:
        plan = _load_stored(stored)
    else:
        if files is None:  # no version applied yet: the files on disk
            files = _Files.read(None, settings)
            label = f"{files.label}; no version is applied yet"
        plan = load_dialplan(files.sources)
    router = Router(compile_dialplan(plan), directory)
    caller = directory.caller(caller_number)
    out(f"Dialplan: {label}")
    if directory.line(caller_number) is None:
        out(f"Note: {caller_number} is not a line in the database")
    now = args.at if args.at is not None else time.time()
    out(router.explain(caller, args.number, now).render(verbose=args.verbose))
    return EXIT_OK


# -- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Files:
    """Dialplan files read from disk, under the paths given (for file:line messages)."""

    label: str
    sources: list[DialplanSource]

    @classmethod
    def read(cls, paths: Sequence[str] | None, settings: Settings) -> _Files:
        given = [Path(p) for p in paths] if paths else [settings.dialplan_dir]
        for path in given:
            if not path.exists():
                raise CliError(f"{path}: no such file or folder")
        try:
            sources = read_sources(given)
        except OSError as exc:
            where = exc.filename or ", ".join(map(str, given))
            raise CliError(f"cannot read {where}: {exc.strerror or exc}") from exc
        if not sources:
            raise CliError(f"no dialplan files (*.toml) in {', '.join(map(str, given))}")
        label = ", ".join(map(str, given))
        label += f" ({len(sources)} file{'s' if len(sources) != 1 else ''})"
        return cls(label, sources)

    def by_base_name(self) -> dict[str, str]:
        """{base name: text}, the form versions are stored in."""
        named: dict[str, str] = {}
        paths: dict[str, str] = {}
        for source in self.sources:
            name = PurePath(source.name).name
            if name in named:
                raise CliError(f"two dialplan files are named {name}: {paths[name]}, {source.name}")
            named[name] = source.text
            paths[name] = source.name
        return named


async def _directory(store: Store) -> Directory:
    return Directory(await store.list_exchanges(), await store.list_lines())


def _load_stored(sources: Mapping[str, str]) -> Dialplan:
    if not sources:
        return Dialplan()
    return load_dialplan(sources)


def _summarize(problems: Sequence[Diagnostic], files: _Files, plan: Dialplan | None) -> int:
    for problem in problems:
        out(str(problem))
    errors = sum(problem.is_error for problem in problems)
    warnings = len(problems) - errors
    if errors:
        out(f"{_count(errors, 'error')}, {_count(warnings, 'warning')}: {files.label}")
        return EXIT_FAILURE
    assert plan is not None
    found = f", {_count(warnings, 'warning')}" if warnings else ""
    out(f"OK: {_size(plan)}{found}")
    return EXIT_OK


def _print_problems(problems: Sequence[Diagnostic]) -> None:
    for problem in problems:
        sys.stderr.write(f"{problem}\n")


def _size(plan: Dialplan) -> str:
    return f"{_count(len(plan.files), 'file')}, {_count(len(plan.rules), 'rule')}"


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _version_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a version is a number from 1 up, not {text!r}")
    return int(text)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"give the time as 'YYYY-MM-DD HH:MM', not {text!r}"
        ) from None
