"""Conditions of a rule: time-of-day windows, days of the week, the caller's exchange and class.

Time and day are read from the current time in the dialplan's time zone, each on its own: a
window "22:00-06:00" with `days = "fri"` holds on Friday from 22:00 to midnight and on Friday
from midnight to 06:00, not on Saturday morning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

__all__ = [
    "DAY_NAMES",
    "CallContext",
    "ConditionError",
    "Conditions",
    "TimeWindow",
    "parse_days",
    "parse_names",
    "parse_windows",
]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_INDEX = {name: i for names in (DAY_NAMES, _FULL_DAY_NAMES) for i, name in enumerate(names)}


class ConditionError(ValueError):
    """A condition that cannot be used; the message says why, for an admin."""


class CallContext:
    """What conditions are evaluated against: the caller, and the current time, converted to
    local time only when a time or day condition asks for it."""

    __slots__ = ("_local", "caller_class", "caller_exchange", "now", "tz")

    def __init__(
        self,
        caller_exchange: str | None,
        caller_class: str | None,
        now: float | datetime,
        tz: tzinfo,
    ) -> None:
        self.caller_exchange = caller_exchange
        self.caller_class = caller_class
        self.now = now
        self.tz = tz
        self._local: datetime | None = None

    def local_time(self) -> datetime:
        local = self._local
        if local is None:
            now = self.now
            if isinstance(now, datetime):
                local = now.astimezone(self.tz) if now.tzinfo is not None else now
            else:
                local = datetime.fromtimestamp(now, self.tz)
            self._local = local
        return local

    def minute_of_day(self) -> int:
        local = self.local_time()
        return local.hour * 60 + local.minute

    def weekday(self) -> int:
        return self.local_time().weekday()


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """From `start` (inclusive) to `end` (exclusive), in minutes since midnight. A window whose
    end is not after its start runs over midnight."""

    start: int
    end: int

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class Conditions:
    """The conditions of a rule; `None` fields are absent. All present ones must hold."""

    windows: tuple[TimeWindow, ...] | None = None
    days: frozenset[int] | None = None
    caller_exchanges: frozenset[str] | None = None
    caller_classes: frozenset[str] | None = None

    def holds(self, ctx: CallContext) -> bool:
        if self.caller_exchanges is not None and ctx.caller_exchange not in self.caller_exchanges:
            return False
        if self.caller_classes is not None and ctx.caller_class not in self.caller_classes:
            return False
        if self.days is not None and ctx.weekday() not in self.days:
            return False
        if self.windows is not None:
            minute = ctx.minute_of_day()
            return any(window.contains(minute) for window in self.windows)
        return True

    def failing(self, ctx: CallContext) -> str | None:
        """Why the conditions do not hold (the first failing one, as the admin wrote it), or
        None when they hold. Agrees with `holds()`."""
        if self.caller_exchanges is not None and ctx.caller_exchange not in self.caller_exchanges:
            return (
                f"caller_exchange = {_names(self.caller_exchanges)} "
                f"(the caller's exchange is {ctx.caller_exchange or 'unknown'})"
            )
        if self.caller_classes is not None and ctx.caller_class not in self.caller_classes:
            return (
                f"caller_class = {_names(self.caller_classes)} "
                f"(the caller's class is {ctx.caller_class or 'unknown'})"
            )
        if self.days is not None and ctx.weekday() not in self.days:
            return f"days = {self.describe_days()} (today is {DAY_NAMES[ctx.weekday()]})"
        if self.windows is not None:
            minute = ctx.minute_of_day()
            if not any(window.contains(minute) for window in self.windows):
                return f"time = {self.describe_windows()} (it is {_clock(minute)})"
        return None

    def describe_days(self) -> str:
        return ",".join(DAY_NAMES[d] for d in sorted(self.days or ()))

    def describe_windows(self) -> str:
        return ",".join(str(w) for w in self.windows or ())

    def describe(self) -> str:
        parts: list[str] = []
        if self.windows is not None:
            parts.append(f"time {self.describe_windows()}")
        if self.days is not None:
            parts.append(f"days {self.describe_days()}")
        if self.caller_exchanges is not None:
            parts.append(f"caller_exchange {_names(self.caller_exchanges)}")
        if self.caller_classes is not None:
            parts.append(f"caller_class {_names(self.caller_classes)}")
        return ", ".join(parts)


def _names(names: Iterable[str]) -> str:
    return ",".join(sorted(names))


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_windows(value: object) -> tuple[TimeWindow, ...]:
    """`"08:00-18:00"` or a list of such windows."""
    items = _string_items(value, "time", '"08:00-18:00"')
    return tuple(_window(item) for item in items)


def _window(text: str) -> TimeWindow:
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ConditionError(f'time window "{text}" must read "HH:MM-HH:MM", e.g. "08:00-18:00"')
    start = _minute(start_text.strip(), text, allow_24=False)
    end = _minute(end_text.strip(), text, allow_24=True)  # "24:00" is midnight at the end
    if start == end:
        raise ConditionError(f'time window "{text}" is empty (its start and end are equal)')
    return TimeWindow(start, end)


def _minute(clock: str, window: str, *, allow_24: bool) -> int:
    hours, sep, minutes = clock.partition(":")
    if not (
        sep and hours.isdigit() and minutes.isdigit() and len(hours) <= 2 and len(minutes) == 2
    ):
        raise ConditionError(f'time window "{window}": "{clock}" is not a time like "08:30"')
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0 and allow_24:
        return 24 * 60
    if h > 23 or m > 59:
        raise ConditionError(f'time window "{window}": "{clock}" is not a time of day')
    return h * 60 + m


def parse_days(value: object) -> frozenset[int]:
    """`"mon-fri"`, `"sat"`, or a list like `["mon", "wed-thu"]`; ranges may wrap (`"fri-mon"`).
    Returns weekday numbers, Monday = 0."""
    days: set[int] = set()
    for item in _string_items(value, "days", '"mon-fri"'):
        for part in item.split(","):
            first, sep, last = part.strip().lower().partition("-")
            start = _day(first, item)
            if not sep:
                days.add(start)
                continue
            end = _day(last, item)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
    return frozenset(days)


def _day(name: str, item: str) -> int:
    index = _DAY_INDEX.get(name.strip())
    if index is None:
        raise ConditionError(f'days: "{item}" is not a day like "mon" or a range like "mon-fri"')
    return index


def parse_names(value: object, key: str, example: str) -> frozenset[str]:
    """A string or a list of strings (exchange codes, line classes)."""
    names = _string_items(value, key, example)
    for name in names:
        if not name or name != name.strip():
            raise ConditionError(f'{key}: "{name}" is not a name')
    return frozenset(names)


def _string_items(value: object, key: str, example: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ConditionError(f"{key} must be a string or a list of strings, e.g. {example}")
    if not items:
        raise ConditionError(f"{key} is an empty list (remove it to leave the rule unconditional)")
    return items
