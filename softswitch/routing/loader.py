"""Reading dialplan files: TOML text in, a validated `Dialplan` out, or every error found as
`file:line: reason`.

A dialplan is the set of files given (one for the whole network, or one per exchange). They are
merged in the order of their file names (`00-network.toml` before `10-ashford.toml`), rules of
one file in the order written. A setting may be given by one file only.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePath
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from .conditions import Conditions
from .diagnostics import Diagnostic, DialplanError, Origin
from .keylines import KeyLines
from .keylines import Path as KeyPath
from .models import (
    ACTION_KEYS,
    CONDITION_KEYS,
    EXCHANGE_CODE,
    PATTERN_KEYS,
    RULE_KEYS,
    ExchangeNumberingModel,
    NumberingModel,
    RuleModel,
    SettingsModel,
)
from .plan import DEFAULT_MAX_REWRITES, Dialplan, ExchangeNumbering, Numbering, Rule, Settings

__all__ = ["DialplanSource", "load_dialplan", "read_sources"]

_SECTIONS = ("settings", "numbering", "rule")
_ACTION_FIELDS = {
    "deliver": ("line", "exchange"),
    "trunk": ("uris", "timeout"),
    "queue": ("exchange", "name", "priority"),
    "rewrite": ("strip", "prepend", "substitute"),
    "reject": ("status", "reason"),
}
_ACTION_EXAMPLES = {
    "deliver": 'deliver = { line = "5551001" }',
    "trunk": 'trunk = { uris = ["sip:gw.example.net"] }',
    "queue": 'queue = { exchange = "CED" }',
    "rewrite": "rewrite = { strip = 1 }",
    "reject": "reject = { status = 403 }",
}
_TOML_POSITION = re.compile(r"(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)")


@dataclass(frozen=True, slots=True)
class DialplanSource:
    """One dialplan file: the name errors are reported under, and its text."""

    name: str
    text: str


def read_sources(paths: Iterable[str | PathLike[str]]) -> list[DialplanSource]:
    """The files at `paths`; a directory stands for its `*.toml` files. Raises `OSError`, or
    `DialplanError` for a file that is not UTF-8 text."""
    sources: list[DialplanSource] = []
    for given in paths:
        path = Path(given)
        files = sorted(path.glob("*.toml")) if path.is_dir() else [path]
        for file in files:
            data = file.read_bytes()
            try:
                sources.append(DialplanSource(str(file), data.decode("utf-8")))
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                raise DialplanError(
                    [Diagnostic(Origin(str(file), line), "the file is not UTF-8 text")]
                ) from None
    return sources


def load_dialplan(sources: Iterable[DialplanSource] | Mapping[str, str]) -> Dialplan:
    """The dialplan made of `sources` (or a mapping of file name to text). Raises
    `DialplanError` listing every problem found."""
    if isinstance(sources, Mapping):
        sources = [DialplanSource(name, text) for name, text in sources.items()]
    ordered = sorted(sources, key=lambda s: (PurePath(s.name).name, s.name))
    merger = _Merger()
    for source in ordered:
        merger.add(_FileReader(source).read())
    return merger.result()


@dataclass(slots=True)
class _FileContent:
    name: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    settings: dict[str, tuple[Any, Origin]] = field(default_factory=dict)
    numbering: dict[str, tuple[Any, Origin]] = field(default_factory=dict)
    exchanges: dict[str, tuple[ExchangeNumbering, Origin, dict[str, Origin]]] = field(
        default_factory=dict
    )
    rules: list[tuple[Rule, dict[str, Origin]]] = field(default_factory=list)  # with its keys'


class _FileReader:
    """Validates one file; collects its errors rather than stopping at the first."""

    def __init__(self, source: DialplanSource) -> None:
        self.source = source
        self.content = _FileContent(source.name)
        self.lines: KeyLines | None = None

    def origin(self, path: KeyPath) -> Origin:
        assert self.lines is not None
        return Origin(self.source.name, self.lines.line(path))

    def error(self, path: KeyPath, message: str) -> None:
        self.content.diagnostics.append(Diagnostic(self.origin(path), message))

    def read(self) -> _FileContent:
        try:
            document = tomllib.loads(self.source.text)
        except tomllib.TOMLDecodeError as exc:
            self.content.diagnostics.append(self._syntax_error(str(exc)))
            return self.content
        self.lines = KeyLines(self.source.text)
        for key, value in document.items():
            if key == "settings":
                self._read_settings(value)
            elif key == "numbering":
                self._read_numbering(value)
            elif key == "rule":
                self._read_rules(value)
            else:
                self.error((key,), _unknown_section(key))
        return self.content

    def _syntax_error(self, text: str) -> Diagnostic:
        found = _TOML_POSITION.fullmatch(text)
        if found is not None:
            message = f"{found['message']} (column {found['column']})"
            line = int(found["line"])
        else:
            message = text.removesuffix(" (at end of document)")
            text = self.source.text
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        message = message[:1].lower() + message[1:]
        return Diagnostic(Origin(self.source.name, line), f"TOML syntax error: {message}")

    def _validate(
        self, model: type[BaseModel], raw: dict[str, Any], path: KeyPath, label: str
    ) -> BaseModel | None:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                self.error((*path, *loc), f"{label}{_message(error, loc)}")
            return None

    def _read_settings(self, raw: object) -> None:
        if not isinstance(raw, dict):
            self.error(("settings",), "settings must be a table: [settings]")
            return
        model = self._validate(SettingsModel, raw, ("settings",), "settings: ")
        if model is None:
            return
        for key in raw:  # in the order written
            origin = self.origin(("settings", key))
            self.content.settings[key] = (getattr(model, key), origin)

    def _read_numbering(self, raw: object) -> None:
        if not isinstance(raw, dict):
            self.error(("numbering",), "numbering must be a table: [numbering]")
            return
        own: dict[str, Any] = {}
        for key, value in raw.items():
            if key in NumberingModel.model_fields:
                own[key] = value
            elif isinstance(value, dict) and EXCHANGE_CODE.fullmatch(key):
                self._read_exchange_numbering(key, value)
            elif isinstance(value, dict):
                self.error(
                    ("numbering", key),
                    f'numbering: "{key}" is not an exchange code (codes are upper case, "ASH")',
                )
            else:
                hint = _did_you_mean(key, NumberingModel.model_fields)
                self.error(("numbering", key), f'numbering: unknown key "{key}"{hint}')
        model = self._validate(NumberingModel, own, ("numbering",), "numbering: ")
        if model is None:
            return
        for key in own:  # in the order written
            self.content.numbering[key] = (getattr(model, key), self.origin(("numbering", key)))

    def _read_exchange_numbering(self, code: str, raw: dict[str, Any]) -> None:
        path = ("numbering", code)
        model = self._validate(ExchangeNumberingModel, raw, path, f"numbering.{code}: ")
        if not isinstance(model, ExchangeNumberingModel):
            return
        origins = {key: self.origin((*path, key)) for key in raw}
        value = ExchangeNumbering(model.local_length, model.local_prefix)
        self.content.exchanges[code] = (value, self.origin(path), origins)

    def _read_rules(self, raw: object) -> None:
        if not isinstance(raw, list):
            self.error(("rule",), "write each rule as a [[rule]] table (two brackets)")
            return
        for index, item in enumerate(raw):
            self._read_rule(index, item)

    def _read_rule(self, index: int, raw: object) -> None:
        path: KeyPath = ("rule", index)
        if not isinstance(raw, dict):
            self.error(path, "write each rule as a [[rule]] table (two brackets)")
            return
        name = raw.get("name")
        label = f'rule "{name}"' if isinstance(name, str) and name else f"rule #{index + 1}"
        clean: dict[str, Any] = {}
        unknown = False
        for key, value in raw.items():
            if key in RULE_KEYS:
                clean[key] = value
            else:
                unknown = True
                self.error((*path, key), f"{label}: {_unknown_rule_key(key, value)}")
        ok = self._exactly_one(clean, PATTERN_KEYS, path, label, "pattern", unknown)
        ok = self._exactly_one(clean, ACTION_KEYS, path, label, "action", unknown) and ok
        model = self._validate(RuleModel, clean, path, f"{label}: ")
        if not ok or unknown or not isinstance(model, RuleModel):
            return
        pattern = next(
            getattr(model, key) for key in PATTERN_KEYS if getattr(model, key) is not None
        )
        action_model = next(
            getattr(model, key) for key in ACTION_KEYS if getattr(model, key) is not None
        )
        conditions = None
        if any(getattr(model, key) is not None for key in CONDITION_KEYS):
            conditions = Conditions(
                windows=model.time,
                days=model.days,
                caller_exchanges=model.caller_exchange,
                caller_classes=model.caller_class,
            )
        rule = Rule(
            name=model.name,
            pattern=pattern,
            action=action_model.to_action(),
            origin=self.origin(path),
            conditions=conditions,
        )
        keys = {key: self.origin((*path, key)) for key in clean}
        self.content.rules.append((rule, keys))

    def _exactly_one(
        self,
        clean: dict[str, Any],
        keys: tuple[str, ...],
        path: KeyPath,
        label: str,
        what: str,
        unknown: bool,
    ) -> bool:
        present = [key for key in clean if key in keys]
        if len(present) == 1:
            return True
        if not present:
            if not unknown:  # a misspelt key was reported already
                choices = ", ".join(keys)
                self.error(path, f"{label}: no {what} (give one of {choices})")
            return False
        self.error(
            (*path, present[1]),
            f"{label}: more than one {what} ({', '.join(present)}); a rule has exactly one",
        )
        return False


class _Merger:
    """Joins the files in order; a setting may be given once, a rule name used once."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.files: list[str] = []
        self.settings: dict[str, tuple[Any, Origin]] = {}
        self.numbering: dict[str, tuple[Any, Origin]] = {}
        self.exchanges: dict[str, tuple[ExchangeNumbering, Origin]] = {}
        self.origins: dict[str, Origin] = {}
        self.rules: list[Rule] = []
        self.names: dict[str, Origin] = {}

    def add(self, content: _FileContent) -> None:
        self.files.append(content.name)
        self.diagnostics.extend(content.diagnostics)
        for section, given, merged in (
            ("settings", content.settings, self.settings),
            ("numbering", content.numbering, self.numbering),
        ):
            for key, (value, origin) in given.items():
                earlier = merged.get(key)
                if earlier is not None:
                    self._duplicate(origin, f"{section}.{key} is already set", earlier[1])
                    continue
                merged[key] = (value, origin)
                self.origins[f"{section}.{key}"] = origin
        for code, (numbering, origin, key_origins) in content.exchanges.items():
            earlier_exchange = self.exchanges.get(code)
            if earlier_exchange is not None:
                self._duplicate(origin, f"[numbering.{code}] is already given", earlier_exchange[1])
                continue
            self.exchanges[code] = (numbering, origin)
            self.origins[f"numbering.{code}"] = origin
            for key, key_origin in key_origins.items():
                self.origins[f"numbering.{code}.{key}"] = key_origin
        for rule, keys in content.rules:
            earlier_name = self.names.get(rule.name)
            if earlier_name is not None:
                self._duplicate(
                    keys["name"], f'rule "{rule.name}": the name is already used', earlier_name
                )
                continue
            self.names[rule.name] = rule.origin
            self.rules.append(rule)
            for key, key_origin in keys.items():
                self.origins[f"rule.{rule.name}.{key}"] = key_origin

    def _duplicate(self, origin: Origin, message: str, earlier: Origin) -> None:
        self.diagnostics.append(Diagnostic(origin, f"{message} at {earlier}"))

    def result(self) -> Dialplan:
        if self.diagnostics:
            files = {name: position for position, name in enumerate(self.files)}
            raise DialplanError(
                sorted(self.diagnostics, key=lambda d: (files.get(d.origin.file, 0), d.origin.line))
            )
        settings_values = {key: value for key, (value, _) in self.settings.items()}
        timezone = settings_values.get("timezone", "UTC")
        settings = Settings(
            timezone=timezone,
            tz=ZoneInfo(timezone),
            max_rewrites=settings_values.get("max_rewrites", DEFAULT_MAX_REWRITES),
        )
        numbering_values = {key: value for key, (value, _) in self.numbering.items()}
        numbering = Numbering(
            local_length=numbering_values.get("local_length"),
            international_prefix=numbering_values.get("international_prefix"),
            country_code=numbering_values.get("country_code"),
            trunk_prefix=numbering_values.get("trunk_prefix"),
            service_numbers=frozenset(numbering_values.get("service_numbers", ())),
            exchanges={code: value for code, (value, _) in self.exchanges.items()},
        )
        rules = tuple(
            Rule(r.name, r.pattern, r.action, r.origin, r.conditions, index)
            for index, r in enumerate(self.rules)
        )
        return Dialplan(
            rules=rules,
            settings=settings,
            numbering=numbering,
            files=tuple(self.files),
            origins=dict(self.origins),
        )


def _message(error: Any, loc: tuple[Any, ...]) -> str:
    """A pydantic error in the words of the dialplan format."""
    kind = error["type"]
    where = _where(loc)
    key = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "missing":
        return f'missing key "{where}"'
    if kind == "extra_forbidden":
        section = loc[0] if len(loc) > 1 else ""
        hint = _did_you_mean(key, _ACTION_FIELDS.get(str(section), ()))
        return f'unknown key "{where}"{hint}'
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        example = _ACTION_EXAMPLES.get(key, f"{key} = {{ ... }}")
        return f"{where} must be a table, e.g. {example}"
    if kind == "string_type":
        message = "must be a string in quotes"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        message = "must be a whole number without quotes"
    elif kind in ("float_type", "float_parsing"):
        message = "must be a number without quotes"
    elif kind == "list_type":
        message = 'must be a list, e.g. ["..."]'
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if key and message.startswith((key, f"invalid {key}")):
            return message  # it names what it is about
        message = message[:1].lower() + message[1:]
    return f"{where}: {message}" if where else message


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"item {part + 1}" if not parts else f"{parts.pop()} item {part + 1}")
        else:
            parts.append(str(part))
    return ".".join(parts)


def _did_you_mean(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.7)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _unknown_rule_key(key: str, value: object) -> str:
    action = difflib.get_close_matches(key, ACTION_KEYS, n=1, cutoff=0.7)
    if action or isinstance(value, dict):
        hint = (
            f' (did you mean "{action[0]}"?)' if action else f" (actions: {', '.join(ACTION_KEYS)})"
        )
        return f'unknown action "{key}"{hint}'
    return f'unknown key "{key}"{_did_you_mean(key, RULE_KEYS)}'


def _unknown_section(key: str) -> str:
    if key.rstrip("s") in ("exchange", "line"):
        return (
            "exchanges and lines are kept in the database, not in dialplan files "
            '(add them with "softswitch exchange add" and "softswitch line add")'
        )
    return f'unknown section "{key}"{_did_you_mean(key, _SECTIONS)}'
