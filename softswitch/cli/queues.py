"""`softswitch queue ...`: who waits for an operator, how the queues did, and their settings."""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from typing import Any

from softswitch.config import Settings
from softswitch.queue import Distribution, QueueStats, compute_stats
from softswitch.store import QueueCallRow, QueueConfigRow, QueueStatsRow, Store

from .common import EXIT_OK, CliError, duration, out, parse_since, run_with_store, table

__all__ = ["register"]

_DEFAULT_SINCE = "24h"
_ALL = "(all)"


def register(commands: Any, flags: argparse.ArgumentParser) -> None:
    """Add `queue list|stats|show|set|reset` to `commands`."""
    queue = commands.add_parser("queue", help="the operator queues")
    sub = queue.add_subparsers(dest="queue_command", metavar="COMMAND", required=True)

    listing = sub.add_parser("list", parents=[flags], help="the calls waiting for an operator")
    listing.add_argument("--queue", metavar="Q", help="only this queue")
    listing.add_argument("--all", action="store_true", help="also the calls an operator has now")
    listing.set_defaults(handler=_list)

    stats = sub.add_parser("stats", parents=[flags], help="calls offered, taken, lost; waits")
    stats.add_argument("--queue", metavar="Q", help="only this queue")
    stats.add_argument(
        "--since",
        metavar="WHEN",
        type=parse_since,
        default=_DEFAULT_SINCE,
        help="calls queued since: a time ('2024-05-06 08:00', local) or an age (default 24h)",
    )
    stats.add_argument("--format", choices=["table", "json"], default="table")
    stats.set_defaults(handler=_stats)

    show = sub.add_parser("show", parents=[flags], help="the settings of the queues")
    show.set_defaults(handler=_show)

    configure = sub.add_parser("set", parents=[flags], help="change a queue's settings")
    configure.add_argument("queue", metavar="QUEUE", help="exchange code or queue name")
    configure.add_argument(
        "--distribution",
        choices=[d.value for d in Distribution],
        help="manual: operators pick; longest_idle: offered to the longest idle operator; "
        "ring_all: offered to every available operator",
    )
    configure.add_argument(
        "--ring-timeout", type=_seconds, metavar="S", help="seconds an offer rings"
    )
    configure.add_argument(
        "--max-wait", type=_limit, metavar="S", help="seconds a call may wait (none: no limit)"
    )
    configure.add_argument(
        "--max-length", type=_count, metavar="N", help="calls the queue may hold (none)"
    )
    configure.add_argument(
        "--overflow-queue", type=_optional, metavar="Q", help="where overflowing calls go"
    )
    configure.add_argument(
        "--overflow-status",
        type=int,
        metavar="CODE",
        help="else answer them so (400-699, default 480)",
    )
    configure.add_argument(
        "--retry-after", type=_count, metavar="S", help="with Retry-After (none)"
    )
    configure.add_argument(
        "--service-level", type=_seconds, metavar="S", help="target answer time for stats"
    )
    configure.add_argument(
        "--wrap-up", type=float, metavar="S", help="seconds of wrap-up after a call"
    )
    configure.set_defaults(handler=_set)

    reset = sub.add_parser("reset", parents=[flags], help="back to the default settings")
    reset.add_argument("queue", metavar="QUEUE")
    reset.set_defaults(handler=_reset)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    calls = run_with_store(settings, lambda store: store.list_queue_calls(args.queue))
    if not args.all:
        calls = [c for c in calls if c.state in ("waiting", "offered")]
    calls.sort(key=lambda c: (-c.priority, c.enqueued_at, c.id))
    if not calls:
        out("no calls waiting" if not args.all else "no calls in the queues")
        return EXIT_OK
    now = time.time()
    rows = [_call_row(call, now) for call in calls]
    headers = ["ID", "QUEUE", "PRI", "CALLER", "DIALED", "LINE", "JACK", "STATE"]
    headers += ["OPERATOR", "WAITING", "NODE"]
    out(table(headers, rows))
    return EXIT_OK


def _call_row(call: QueueCallRow, now: float) -> list[str]:
    caller = call.caller + (f" ({call.caller_display})" if call.caller_display else "")
    operator = call.operator or ",".join(call.offered_to)
    waited = (call.taken_at or now) - call.enqueued_at
    return [
        str(call.id),
        call.queue,
        str(call.priority) + ("!" if call.priority >= 9 else ""),
        caller,
        call.dialed,
        call.line or "",
        call.jack_label or "",
        call.state.replace("_", " "),
        operator,
        duration(waited),
        call.node,
    ]


def _stats(args: argparse.Namespace, settings: Settings) -> int:
    async def action(store: Store) -> tuple[list[QueueStatsRow], list[QueueConfigRow]]:
        return (
            await store.queue_stats_rows(args.queue, args.since),
            await store.list_queue_configs(),
        )

    rows, configs = run_with_store(settings, action)
    thresholds = {config.queue: config.service_level_seconds for config in configs}
    by_queue: dict[str, list[QueueStatsRow]] = defaultdict(list)
    for row in rows:
        by_queue[row.queue].append(row)
    if args.queue is not None:
        by_queue.setdefault(args.queue, [])
    results = {
        queue: compute_stats(samples, thresholds.get(queue, 20.0))
        for queue, samples in sorted(by_queue.items())
    }
    if len(results) > 1:
        results[_ALL] = _total(rows, thresholds)
    if args.format == "json":
        out(json.dumps({queue: s.as_dict() for queue, s in results.items()}, indent=2))
        return EXIT_OK
    if not results:
        out("no queued calls")
        return EXIT_OK
    headers = ["QUEUE", "OFFERED", "TAKEN", "CONNECTED", "ABANDONED", "OVERFLOWED"]
    headers += ["WAIT P50", "WAIT P90", "SERVICE LEVEL"]
    out(table(headers, [_stats_row(queue, s) for queue, s in results.items()]))
    return EXIT_OK


def _total(rows: list[QueueStatsRow], thresholds: dict[str, float]) -> QueueStats:
    """Every queue together; the service level against each call's own queue's target."""
    total = compute_stats(rows, 20.0)
    within = over = 0
    for row in rows:
        if row.taken_at is not None:
            over += 1
            within += row.taken_at - row.enqueued_at <= thresholds.get(row.queue, 20.0)
        elif row.outcome in ("abandoned", "overflowed"):
            over += 1
    return QueueStats(
        offered=total.offered,
        taken=total.taken,
        connected=total.connected,
        abandoned=total.abandoned,
        overflowed=total.overflowed,
        wait_p50=total.wait_p50,
        wait_p90=total.wait_p90,
        service_level=within / over if over else None,
    )


def _stats_row(queue: str, stats: QueueStats) -> list[str]:
    def wait(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds:.0f}s"

    level = "-" if stats.service_level is None else f"{stats.service_level:.0%}"
    return [
        queue,
        str(stats.offered),
        str(stats.taken),
        str(stats.connected),
        str(stats.abandoned),
        str(stats.overflowed),
        wait(stats.wait_p50),
        wait(stats.wait_p90),
        level,
    ]


def _show(args: argparse.Namespace, settings: Settings) -> int:
    configs = run_with_store(settings, lambda store: store.list_queue_configs())
    if not configs:
        out("every queue has the default settings (manual, no limits)")
        return EXIT_OK
    out(table(_CONFIG_HEADERS, [_config_row(config) for config in configs]))
    return EXIT_OK


_CONFIG_HEADERS = [
    "QUEUE",
    "DISTRIBUTION",
    "RING",
    "MAX WAIT",
    "MAX LENGTH",
    "OVERFLOW",
    "RETRY AFTER",
    "SERVICE LEVEL",
    "WRAP UP",
]


def _config_row(config: QueueConfigRow) -> list[str]:
    overflow = (
        f"queue {config.overflow_queue}"
        if config.overflow_queue
        else f"answer {config.overflow_status}"
    )
    return [
        config.queue,
        config.distribution,
        f"{config.ring_timeout:g}s",
        "-" if config.max_wait is None else f"{config.max_wait:g}s",
        "-" if config.max_length is None else str(config.max_length),
        overflow,
        "-" if config.retry_after is None else f"{config.retry_after}s",
        f"{config.service_level_seconds:g}s",
        f"{config.wrap_up_seconds:g}s",
    ]


def _set(args: argparse.Namespace, settings: Settings) -> int:
    changes = {
        "distribution": args.distribution,
        "ring_timeout": args.ring_timeout,
        "max_wait": args.max_wait,
        "max_length": args.max_length,
        "overflow_queue": args.overflow_queue,
        "overflow_status": args.overflow_status,
        "retry_after": args.retry_after,
        "service_level_seconds": args.service_level,
        "wrap_up_seconds": args.wrap_up,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    if not changes:
        raise CliError("nothing to change: give at least one setting (see --help)")
    changes = {key: None if value is _NONE else value for key, value in changes.items()}

    async def action(store: Store) -> QueueConfigRow:
        current = await store.get_queue_config(args.queue) or QueueConfigRow(queue=args.queue)
        values = {name: getattr(current, name) for name in QueueConfigRow.__slots__}
        values.update(changes)
        return await store.set_queue_config(QueueConfigRow(**values))

    config = run_with_store(settings, action)
    out(table(_CONFIG_HEADERS, [_config_row(config)]))
    return EXIT_OK


def _reset(args: argparse.Namespace, settings: Settings) -> int:
    removed = run_with_store(settings, lambda store: store.remove_queue_config(args.queue))
    out(
        f"queue {args.queue} has the default settings again"
        if removed
        else f"queue {args.queue} already had the default settings"
    )
    return EXIT_OK


class _None:
    """`none` given for an optional setting: take the limit away."""


_NONE = _None()


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a number of seconds above 0, not {text!r}")
    return value


def _limit(text: str) -> float | _None:
    return _NONE if text.lower() == "none" else _seconds(text)


def _count(text: str) -> int | _None:
    if text.lower() == "none":
        return _NONE
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"a whole number or none, not {text!r}")
    return int(text)


def _optional(text: str) -> str | _None:
    return _NONE if text.lower() == "none" else text
