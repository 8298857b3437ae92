"""What changed between two dialplans: settings, and rules added, removed, changed or moved
(rules are matched by name; order matters, since the first matching rule wins). Which file a
rule is written in does not matter to routing, so moving a rule to another file in the same
place of the order is no change."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from .plan import Dialplan, Rule

__all__ = ["DialplanDiff", "RuleChange", "RuleMove", "SettingChange", "diff_dialplans"]


@dataclass(frozen=True, slots=True)
class SettingChange:
    """A setting set, changed or cleared (`old` or `new` None when absent)."""

    key: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class RuleChange:
    """A rule kept under its name whose content changed: `(field, old, new)` per field."""

    name: str
    old: Rule
    new: Rule
    fields: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class RuleMove:
    """A rule whose place among the rules both plans have changed (1-based positions)."""

    name: str
    old_position: int
    new_position: int


@dataclass(frozen=True, slots=True)
class DialplanDiff:
    settings: tuple[SettingChange, ...]
    added: tuple[Rule, ...]
    removed: tuple[Rule, ...]
    changed: tuple[RuleChange, ...]
    moved: tuple[RuleMove, ...]

    def __bool__(self) -> bool:
        return bool(self.settings or self.added or self.removed or self.changed or self.moved)

    def render(self) -> str:
        """Plain text, one line per change: `+` added, `-` removed, `~` changed, `>` moved."""
        if not self:
            return "No changes."
        lines: list[str] = []
        if self.settings:
            lines.append("Settings:")
            for setting in self.settings:
                if setting.old is None:
                    lines.append(f"  + {setting.key} = {setting.new}")
                elif setting.new is None:
                    lines.append(f"  - {setting.key} (was {setting.old})")
                else:
                    lines.append(f"  ~ {setting.key}: {setting.old} -> {setting.new}")
        if self.added or self.removed or self.changed or self.moved:
            lines.append("Rules:")
        for rule in self.added:
            lines.append(
                f"  + {rule.name} (position {rule.index + 1}, {rule.origin}): {rule.describe()}"
            )
        for rule in self.removed:
            lines.append(f"  - {rule.name} (was position {rule.index + 1}): {rule.describe()}")
        for change in self.changed:
            lines.append(f"  ~ {change.name} ({change.new.origin}):")
            lines.extend(f"      {key}: {old} -> {new}" for key, old, new in change.fields)
        for move in self.moved:
            lines.append(
                f"  > {move.name} moved: position {move.old_position} -> {move.new_position}"
            )
        return "\n".join(lines)


def diff_dialplans(old: Dialplan, new: Dialplan) -> DialplanDiff:
    """The changes that turn `old` into `new`."""
    old_settings = old.setting_values()
    new_settings = new.setting_values()
    settings = tuple(
        SettingChange(key, old_settings.get(key), new_settings.get(key))
        for key in sorted(old_settings.keys() | new_settings.keys())
        if old_settings.get(key) != new_settings.get(key)
    )
    old_rules = {rule.name: rule for rule in old.rules}
    new_rules = {rule.name: rule for rule in new.rules}
    added = tuple(rule for rule in new.rules if rule.name not in old_rules)
    removed = tuple(rule for rule in old.rules if rule.name not in new_rules)
    changed: list[RuleChange] = []
    for rule in new.rules:
        before = old_rules.get(rule.name)
        if before is not None:
            fields = _rule_fields(before, rule)
            if fields:
                changed.append(RuleChange(rule.name, before, rule, fields))
    return DialplanDiff(settings, added, removed, tuple(changed), _moves(old, new, new_rules))


def _rule_fields(old: Rule, new: Rule) -> tuple[tuple[str, str, str], ...]:
    fields: list[tuple[str, str, str]] = []
    if old.pattern.key != new.pattern.key:
        fields.append(("pattern", old.pattern.describe(), new.pattern.describe()))
    if old.conditions != new.conditions:
        fields.append(("conditions", _conditions(old), _conditions(new)))
    if old.action != new.action:
        fields.append(("action", old.action.describe(), new.action.describe()))
    return tuple(fields)


def _conditions(rule: Rule) -> str:
    return rule.conditions.describe() if rule.conditions is not None else "none"


def _moves(old: Dialplan, new: Dialplan, new_rules: dict[str, Rule]) -> tuple[RuleMove, ...]:
    """Rules both plans have, out of their old relative order: the fewest rules whose moving
    explains the new order (those outside a longest increasing run of old positions)."""
    common_old = [rule for rule in old.rules if rule.name in new_rules]
    old_rank = {rule.name: rank for rank, rule in enumerate(common_old)}
    sequence = [old_rank[rule.name] for rule in new.rules if rule.name in old_rank]
    keep = _longest_increasing(sequence)
    moves = []
    for rule in new.rules:
        rank = old_rank.get(rule.name)
        if rank is not None and rank not in keep:
            before = common_old[rank]
            moves.append(RuleMove(rule.name, before.index + 1, rule.index + 1))
    return tuple(moves)


def _longest_increasing(sequence: list[int]) -> set[int]:
    """The values of one longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []  # value ending the best run of each length
    tail_at: list[int] = []  # position in sequence of that value
    previous: list[int] = [-1] * len(sequence)
    for position, value in enumerate(sequence):
        length = bisect_left(tails, value)
        if length == len(tails):
            tails.append(value)
            tail_at.append(position)
        else:
            tails[length] = value
            tail_at[length] = position
        previous[position] = tail_at[length - 1] if length else -1
    kept: set[int] = set()
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        kept.add(sequence[position])
        position = previous[position]
    return kept
