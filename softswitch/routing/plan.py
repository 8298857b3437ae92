"""A loaded dialplan as plain values: settings, numbering, and the rules in matching order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo

from .actions import Action
from .conditions import Conditions
from .diagnostics import Origin
from .patterns import Pattern

__all__ = ["DEFAULT_MAX_REWRITES", "Dialplan", "ExchangeNumbering", "Numbering", "Rule", "Settings"]

DEFAULT_MAX_REWRITES = 10


@dataclass(frozen=True, slots=True)
class Rule:
    """One `[[rule]]`. `index` is its place in the merged plan (0 is tried first)."""

    name: str
    pattern: Pattern
    action: Action
    origin: Origin
    conditions: Conditions | None = None
    index: int = 0

    def describe(self) -> str:
        when = f" if {self.conditions.describe()}" if self.conditions is not None else ""
        return f"{self.pattern.describe()}{when}: {self.action.describe()}"


@dataclass(frozen=True, slots=True)
class Settings:
    """`[settings]`: the time zone of time and day conditions, and the bound on rewrites."""

    timezone: str = "UTC"
    tz: tzinfo = field(default=UTC, compare=False, repr=False)
    max_rewrites: int = DEFAULT_MAX_REWRITES


@dataclass(frozen=True, slots=True)
class ExchangeNumbering:
    """`[numbering.CODE]`: short local dialing from the lines of one exchange.

    A caller of this exchange dialing exactly `local_length` digits gets `local_prefix` (by
    default the exchange's own prefix) put in front. `local_length` 0 turns short dialing off."""

    local_length: int | None = None
    local_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class Numbering:
    """`[numbering]`: how dialed digits are put into the network's form before matching."""

    local_length: int | None = None
    international_prefix: str | None = None
    country_code: str | None = None
    trunk_prefix: str | None = None
    service_numbers: frozenset[str] = frozenset()
    exchanges: Mapping[str, ExchangeNumbering] = field(default_factory=dict)

    def local_rule(self, exchange: str) -> tuple[int | None, str | None]:
        """(local length, prefix override) for callers of `exchange`."""
        own = self.exchanges.get(exchange)
        if own is None:
            return self.local_length, None
        length = own.local_length if own.local_length is not None else self.local_length
        return length, own.local_prefix


@dataclass(frozen=True, slots=True)
class Dialplan:
    """The rules of all files, in matching order, with the settings they declared.

    `origins` tells where each setting and rule key was written, keyed like
    `settings.timezone`, `numbering.ASH.local_prefix` or `rule.NAME.deliver`."""

    rules: tuple[Rule, ...] = ()
    settings: Settings = field(default_factory=Settings)
    numbering: Numbering = field(default_factory=Numbering)
    files: tuple[str, ...] = ()
    origins: Mapping[str, Origin] = field(default_factory=dict)

    def origin_of(self, rule: Rule, key: str) -> Origin:
        """Where `key` of `rule` was written (its `[[rule]]` line if not known)."""
        return self.origins.get(f"rule.{rule.name}.{key}", rule.origin)

    def rule(self, name: str) -> Rule | None:
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None

    def setting_values(self) -> dict[str, str]:
        """Every setting given, flattened to `key -> value` text (for diffs and listings)."""
        values: dict[str, str] = {
            "settings.timezone": self.settings.timezone,
            "settings.max_rewrites": str(self.settings.max_rewrites),
        }
        numbering = self.numbering
        optional = {
            "numbering.local_length": numbering.local_length,
            "numbering.international_prefix": numbering.international_prefix,
            "numbering.country_code": numbering.country_code,
            "numbering.trunk_prefix": numbering.trunk_prefix,
        }
        values.update({key: str(value) for key, value in optional.items() if value is not None})
        if numbering.service_numbers:
            values["numbering.service_numbers"] = ", ".join(sorted(numbering.service_numbers))
        for code in sorted(numbering.exchanges):
            own = numbering.exchanges[code]
            if own.local_length is not None:
                values[f"numbering.{code}.local_length"] = str(own.local_length)
            if own.local_prefix is not None:
                values[f"numbering.{code}.local_prefix"] = own.local_prefix
        return values
