"""Pydantic models of the sections of a dialplan file: the validation at the edge.

Each model checks one table as written by an admin; the loader turns the valid ones into the
plain values of `plan` and `actions`. Field validators that parse patterns and conditions return
those values directly, so nothing is parsed twice.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from softswitch.sip.status import reason_phrase

from .actions import Deliver, Queue, Reject, Rewrite, Trunk
from .conditions import parse_days, parse_names, parse_windows
from .patterns import DIALABLE, is_dialable, parse_pattern

__all__ = [
    "ACTION_KEYS",
    "CONDITION_KEYS",
    "EXCHANGE_CODE",
    "PATTERN_KEYS",
    "RULE_KEYS",
    "ExchangeNumberingModel",
    "NumberingModel",
    "RuleModel",
    "SettingsModel",
]

PATTERN_KEYS = ("pattern", "exact", "prefix", "regex")
CONDITION_KEYS = ("time", "days", "caller_exchange", "caller_class")
ACTION_KEYS = ("deliver", "trunk", "queue", "rewrite", "reject")
RULE_KEYS = ("name", *PATTERN_KEYS, *CONDITION_KEYS, *ACTION_KEYS)

EXCHANGE_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}")
_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_DIGITS = re.compile(r"[0-9]{1,15}")
_URI = re.compile(r"sips?:[^\s<>\"]+")
_BACKREF = re.compile(r"\\(?:g<([^>]*)>|([0-9]{1,2}))")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string in quotes")
    return value


def _digits(value: object) -> str:
    text = _text(value, "a number")
    if not _DIGITS.fullmatch(text):
        raise ValueError(f'"{text}" is not a number of 1 to 15 digits')
    return text


def _dialable_or_empty(value: object) -> str:
    text = _text(value, "digits")
    if text and not is_dialable(text):
        raise ValueError(f'"{text}" may hold only digits, * and #')
    return text


def _dialable(value: object) -> str:
    text = _text(value, "a number")
    if not is_dialable(text):
        raise ValueError(f'"{text}" is not a number (digits, * and # only)')
    return text


def _code(value: object) -> str:
    text = _text(value, "an exchange code")
    if not EXCHANGE_CODE.fullmatch(text):
        raise ValueError(f'"{text}" is not an exchange code (upper case letters and digits, "ASH")')
    return text


def _rule_name(value: object) -> str:
    text = _text(value, "name")
    if not _RULE_NAME.fullmatch(text):
        raise ValueError(
            f'rule name "{text}" may hold only letters, digits and - _ . : '
            "(no spaces, at most 64 characters)"
        )
    return text


def _queue_name(value: object) -> str:
    text = _text(value, "a queue name")
    if not _QUEUE_NAME.fullmatch(text):
        raise ValueError(f'queue name "{text}" may hold only letters, digits and - _ . :')
    return text


def _uri(value: object) -> str:
    text = _text(value, "a SIP URI")
    if not _URI.fullmatch(text):
        raise ValueError(f'"{text}" is not a SIP URI like "sip:gateway.example.net"')
    return text


Digits = Annotated[str, BeforeValidator(_digits)]
Dialable = Annotated[str, BeforeValidator(_dialable)]
DialableOrEmpty = Annotated[str, BeforeValidator(_dialable_or_empty)]
Code = Annotated[str, BeforeValidator(_code)]
StrictInt = Annotated[int, Strict()]


# Fields whose validator turns the text into a plan value (a Pattern, time windows, ...).
ExactField = Annotated[Any, BeforeValidator(partial(parse_pattern, "exact"))]
PrefixField = Annotated[Any, BeforeValidator(partial(parse_pattern, "prefix"))]
RegexField = Annotated[Any, BeforeValidator(partial(parse_pattern, "regex"))]
ShorthandField = Annotated[Any, BeforeValidator(partial(parse_pattern, "pattern"))]
WindowsField = Annotated[Any, BeforeValidator(parse_windows)]
DaysField = Annotated[Any, BeforeValidator(parse_days)]
ExchangesField = Annotated[
    Any, BeforeValidator(partial(parse_names, key="caller_exchange", example='["ASH", "BIR"]'))
]
ClassesField = Annotated[
    Any, BeforeValidator(partial(parse_names, key="caller_class", example='["payphone"]'))
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliverModel(_Model):
    line: Digits | None = None
    exchange: Code | None = None

    @model_validator(mode="after")
    def _one_target(self) -> DeliverModel:
        if (self.line is None) == (self.exchange is None):
            raise ValueError('needs one of line = "5551001" or exchange = "ASH"')
        return self

    def to_action(self) -> Deliver:
        return Deliver(line=self.line, exchange=self.exchange)


class TrunkModel(_Model):
    uris: list[Annotated[str, BeforeValidator(_uri)]] = Field(min_length=1)
    timeout: float | None = Field(default=None, gt=0, le=600)

    def to_action(self) -> Trunk:
        return Trunk(uris=tuple(self.uris), timeout=self.timeout)


class QueueModel(_Model):
    exchange: Code | None = None
    name: Annotated[str, BeforeValidator(_queue_name)] | None = None
    priority: StrictInt = Field(default=0, ge=0, le=9)

    @model_validator(mode="after")
    def _one_queue(self) -> QueueModel:
        if (self.exchange is None) == (self.name is None):
            raise ValueError('needs one of exchange = "CED" or name = "directory"')
        return self

    def to_action(self) -> Queue:
        name = self.exchange if self.exchange is not None else self.name
        assert name is not None
        return Queue(name=name, exchange=self.exchange, priority=self.priority)


def _substitute(value: object) -> tuple[re.Pattern[str], str]:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValueError('substitute must be a list of two strings: ["regex", "replacement"]')
    source, replacement = value
    try:
        regex = re.compile(source)
    except re.error as exc:
        raise ValueError(f'invalid regex "{source}" in substitute: {exc.msg}') from None
    for match in _BACKREF.finditer(replacement):
        name, number = match.group(1), match.group(2)
        group = number if number is not None else name
        known = int(group) <= regex.groups if group.isdigit() else group in regex.groupindex
        if not known:
            raise ValueError(
                f'substitute: "{replacement}" refers to group {group}, which "{source}" lacks'
            )
    literal = _BACKREF.sub("", replacement)
    if not set(literal) <= DIALABLE:
        raise ValueError(f'substitute: replacement "{replacement}" may hold only digits, * and #')
    return regex, replacement


SubstituteField = Annotated[Any, BeforeValidator(_substitute)]


class RewriteModel(_Model):
    strip: StrictInt = Field(default=0, ge=0, le=32)
    prepend: DialableOrEmpty = ""
    substitute: SubstituteField = None

    @model_validator(mode="after")
    def _does_something(self) -> RewriteModel:
        if not self.strip and not self.prepend and self.substitute is None:
            raise ValueError("needs at least one of strip, prepend, substitute")
        return self

    def to_action(self) -> Rewrite:
        return Rewrite(strip=self.strip, prepend=self.prepend, substitute=self.substitute)


def _status(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("status must be a whole number without quotes, e.g. status = 403")
    if not 400 <= value <= 699:
        raise ValueError(f"status {value} is not an error status: reject with 400 to 699")
    return value


def _reason(value: object) -> str:
    text = _text(value, "reason")
    if not text or len(text) > 100 or not text.isprintable():
        raise ValueError("reason must be one line of 1 to 100 printable characters")
    return text


class RejectModel(_Model):
    status: Annotated[int, BeforeValidator(_status)]
    reason: Annotated[str, BeforeValidator(_reason)] | None = None

    def to_action(self) -> Reject:
        return Reject(status=self.status, reason=self.reason or reason_phrase(self.status))


class RuleModel(_Model):
    name: Annotated[str, BeforeValidator(_rule_name)]
    pattern: ShorthandField = None
    exact: ExactField = None
    prefix: PrefixField = None
    regex: RegexField = None
    time: WindowsField = None
    days: DaysField = None
    caller_exchange: ExchangesField = None
    caller_class: ClassesField = None
    deliver: DeliverModel | None = None
    trunk: TrunkModel | None = None
    queue: QueueModel | None = None
    rewrite: RewriteModel | None = None
    reject: RejectModel | None = None


def _timezone(value: object) -> str:
    text = _text(value, "timezone")
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f'unknown time zone "{text}" (use a name like "America/Chicago")'
        ) from None
    return text


class SettingsModel(_Model):
    timezone: Annotated[str, BeforeValidator(_timezone)] = "UTC"
    max_rewrites: StrictInt = Field(default=10, ge=1, le=50)


class NumberingModel(_Model):
    local_length: StrictInt | None = Field(default=None, ge=0, le=15)
    international_prefix: Digits | None = None
    country_code: Annotated[str, BeforeValidator(_digits), Field(max_length=3)] | None = None
    trunk_prefix: Digits | None = None
    service_numbers: list[Dialable] = []


class ExchangeNumberingModel(_Model):
    local_length: StrictInt | None = Field(default=None, ge=0, le=15)
    local_prefix: Digits | None = None
