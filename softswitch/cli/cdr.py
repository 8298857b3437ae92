"""`softswitch cdr list` and `cdr show`: the call records, as a table, CSV or JSON; with the
note an operator typed in the console. `cdr traffic`: the traffic hour by hour."""

from __future__ import annotations

import argparse
import csv
import io
import json
import time
from datetime import UTC, datetime
from typing import Any

from softswitch.config import Settings
from softswitch.store import DISPOSITIONS, CallRecord, TrafficHour

from .common import (
    EXIT_FAILURE,
    EXIT_OK,
    duration,
    local_time,
    out,
    parse_since,
    report,
    run_with_store,
    table,
)

__all__ = ["FIELDS", "register"]

# Columns of the CSV and keys of the JSON, in this order.
FIELDS = (
    "id",
    "call_id",
    "caller",
    "dialed",
    "number",
    "rule",
    "route",
    "started_at",
    "answered_at",
    "ended_at",
    "duration_seconds",
    "disposition",
    "status",
    "reason",
    "node",
    "ended_by",
    "note",
    "queue_wait_seconds",
    "operator_note",
    "note_by",
)


def register(commands: Any, flags: argparse.ArgumentParser) -> None:
    """Add `cdr list` and `cdr show` to `commands`."""
    cdr = commands.add_parser("cdr", help="call detail records")
    sub = cdr.add_subparsers(dest="cdr_command", metavar="COMMAND", required=True)
    listing = sub.add_parser(
        "list", parents=[flags], help="the latest call records, oldest of them first"
    )
    listing.add_argument(
        "--since",
        metavar="WHEN",
        type=parse_since,
        help="calls started since: a time ('2024-05-06 08:00', local) or an age (90m, 1h, 2d)",
    )
    listing.add_argument("--line", metavar="NUMBER", help="calls from or to this line")
    listing.add_argument(
        "--disposition",
        type=_disposition,
        metavar="D",
        help=f"only calls that ended so: {', '.join(DISPOSITIONS)}",
    )
    listing.add_argument(
        "--limit", type=_positive, default=100, metavar="N", help="at most N (default 100)"
    )
    listing.add_argument("--format", choices=["table", "csv", "json"], default="table")
    listing.set_defaults(handler=_list)
    show = sub.add_parser(
        "show", parents=[flags], help="one call record, every field (and the operator's note)"
    )
    show.add_argument("call", metavar="ID", help="the record's id, or the call's SIP Call-ID")
    show.add_argument("--format", choices=["text", "json"], default="text")
    show.set_defaults(handler=_show)
    traffic = sub.add_parser(
        "traffic",
        parents=[flags],
        help="calls offered, answered and refused, and the traffic carried, hour by hour",
    )
    traffic.add_argument(
        "--since",
        metavar="WHEN",
        type=parse_since,
        help="from the hour of this time ('2024-05-06 08:00', local) or age (default 24h)",
    )
    traffic.add_argument(
        "--until",
        metavar="WHEN",
        type=parse_since,
        help="to the end of the hour of this time or age (default: now)",
    )
    traffic.add_argument("--format", choices=["table", "csv", "json"], default="table")
    traffic.set_defaults(handler=_traffic)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    records = run_with_store(
        settings,
        lambda store: store.list_cdrs(
            since=args.since, line=args.line, disposition=args.disposition, limit=args.limit
        ),
    )
    records.reverse()  # the store gives the newest first; print them in the order they came
    if args.format == "csv":
        _write_csv(records)
    elif args.format == "json":
        out(json.dumps([_fields(record) for record in records], indent=2, ensure_ascii=False))
    elif not records:
        out("no call records")
    else:
        out(_table(records))
    return EXIT_OK


def _show(args: argparse.Namespace, settings: Settings) -> int:
    key: int | str = int(args.call) if args.call.isdigit() else args.call
    records = run_with_store(settings, lambda store: store.get_cdr(key))
    if not records and isinstance(key, int):  # a Call-ID made of digits
        records = run_with_store(settings, lambda store: store.get_cdr(args.call))
    if not records:
        report(f"no call record {args.call}")
        return EXIT_FAILURE
    if args.format == "json":
        out(json.dumps([_fields(record) for record in records], indent=2, ensure_ascii=False))
        return EXIT_OK
    blocks = []
    for record in records:
        values = _fields(record)
        width = max(len(key) for key in FIELDS)
        lines = [
            f"{key.replace('_', ' '):<{width}}  {'' if values[key] is None else values[key]}"
            for key in FIELDS
        ]
        blocks.append("\n".join(lines))
    out("\n\n".join(blocks))
    return EXIT_OK


# The columns of `cdr traffic`: CSV and JSON keys, and the table's headings.
TRAFFIC_FIELDS = (
    ("hour", "HOUR"),
    ("offered", "OFFERED"),
    ("answered", "ANSWERED"),
    ("busy", "BUSY"),
    ("no_answer", "NO ANSWER"),
    ("failed", "FAILED"),
    ("abandoned", "ABANDONED"),
    ("refused", "REFUSED"),
    ("erlangs", "ERLANGS"),
)


def _traffic(args: argparse.Namespace, settings: Settings) -> int:
    until = args.until if args.until is not None else time.time()
    since = args.since if args.since is not None else until - 24 * 3600
    if since >= until:
        report("--since must come before --until")
        return EXIT_FAILURE
    # the hours of this machine's clock (in India they start at half past UTC's)
    utc_offset = time.localtime(since).tm_gmtoff
    hours = run_with_store(settings, lambda store: store.traffic(since, until, utc_offset))
    rows = [_traffic_fields(hour) for hour in hours]
    if args.format == "json":
        out(json.dumps({"hours": rows, "summary": _summary(hours)}, indent=2))
    elif args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(key for key, _ in TRAFFIC_FIELDS)
        writer.writerows([row[key] for key, _ in TRAFFIC_FIELDS] for row in rows)
        out(buffer.getvalue().rstrip("\n"))
    else:
        cells = [
            [
                local_time(hour.start)[:16],
                *(str(row[key]) for key, _ in TRAFFIC_FIELDS[1:-1]),
                f"{hour.erlangs:.2f}",
            ]
            for hour, row in zip(hours, rows, strict=True)
        ]
        out(table([heading for _, heading in TRAFFIC_FIELDS], cells))
        out("")
        out(_summary_text(_summary(hours)))
    return EXIT_OK


def _traffic_fields(hour: TrafficHour) -> dict[str, Any]:
    return {
        "hour": _iso(hour.start),
        "offered": hour.offered,
        "answered": hour.answered,
        "busy": hour.busy,
        "no_answer": hour.no_answer,
        "failed": hour.failed,
        "abandoned": hour.abandoned,
        "refused": hour.refused,
        "erlangs": round(hour.erlangs, 2),
        "registrations_refused": hour.registrations_refused,
    }


def _summary(hours: list[TrafficHour]) -> dict[str, Any]:
    """Totals, the share of calls answered and refused, and the busy hour: the hour that
    carried the most traffic (the first of them on a tie)."""
    offered = sum(hour.offered for hour in hours)
    answered = sum(hour.answered for hour in hours)
    refused = sum(hour.refused for hour in hours)
    busiest = max(hours, key=lambda hour: hour.erlangs)
    return {
        "offered": offered,
        "answered": answered,
        "refused": refused,
        "registrations_refused": sum(hour.registrations_refused for hour in hours),
        "answered_share": round(answered / offered, 4) if offered else None,
        "refused_share": round(refused / offered, 4) if offered else None,
        "busy_hour": _iso(busiest.start) if busiest.erlangs > 0 else None,
        "busy_hour_erlangs": round(busiest.erlangs, 2),
    }


def _summary_text(summary: dict[str, Any]) -> str:
    offered = summary["offered"]
    if not offered:
        return "no calls offered"
    lines = [
        f"{offered} calls offered, {summary['answered']} answered "
        f"({summary['answered_share']:.1%}), {summary['refused']} refused in overload "
        f"({summary['refused_share']:.1%})"
    ]
    if summary["registrations_refused"]:
        lines.append(f"{summary['registrations_refused']} registrations refused in overload")
    if summary["busy_hour"] is not None:
        start = datetime.fromisoformat(summary["busy_hour"]).timestamp()
        lines.append(
            f"busy hour: {local_time(start)[:16]}, {summary['busy_hour_erlangs']:.2f} erlangs"
        )
    return "\n".join(lines)


NOTE_WIDTH = 40  # the table shows the start of a long note; `cdr show` shows all of it


def _table(records: list[CallRecord]) -> str:
    headers = ["STARTED", "CALLER", "DIALED", "NUMBER", "DISPOSITION", "STATUS", "DURATION"]
    headers += ["RULE", "ROUTE"]
    noted = any(r.operator_note for r in records)
    if noted:
        headers.append("NOTE")
    rows = []
    for r in records:
        length = r.duration_seconds
        row = [
            local_time(r.started_at),
            r.caller,
            r.dialed,
            r.number,
            r.disposition,
            str(r.status) if r.status is not None else "",
            duration(length) if length is not None else "",
            r.rule or "",
            r.route,
        ]
        if noted:
            row.append(_short(r.operator_note or ""))
        rows.append(row)
    return table(headers, rows)


def _short(note: str) -> str:
    note = " ".join(note.split())
    return note if len(note) <= NOTE_WIDTH else note[: NOTE_WIDTH - 1] + "…"


def _write_csv(records: list[CallRecord]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for record in records:
        values = _fields(record)
        writer.writerow(["" if values[key] is None else values[key] for key in FIELDS])
    out(buffer.getvalue().rstrip("\n"))


def _fields(record: CallRecord) -> dict[str, Any]:
    """A record as plain values: times in ISO 8601 UTC, the duration in seconds (ms)."""
    length = record.duration_seconds
    values: dict[str, Any] = {key: getattr(record, key) for key in FIELDS}
    for key in ("started_at", "answered_at", "ended_at"):
        values[key] = _iso(values[key])
    values["duration_seconds"] = round(length, 3) if length is not None else None
    return values


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def _disposition(text: str) -> str:
    value = " ".join(text.replace("-", " ").replace("_", " ").lower().split())
    if value not in DISPOSITIONS:
        raise argparse.ArgumentTypeError(f"one of {', '.join(DISPOSITIONS)}, not {text!r}")
    return value


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number from 1 up, not {text!r}")
    return int(text)
