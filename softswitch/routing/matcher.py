"""The compiled dialplan: rules indexed by their literal digits, for first-match lookups that do
not walk every rule.

The index is a trie over digits, stored as one hash table per literal length: a rule sits under
its literal (an exact number among the rules that match only the whole number; a prefix, an
Asterisk pattern or an anchored regex among those that match anything longer). Looking a number
up reads one table entry per literal length in use (a handful), and the rules found there, plus
the regexes without a literal, are the only candidates. Those regexes are also combined into one
alternation that tells at once whether any of them can match, so they cost one search per call
when none does.

Every candidate list is in rule order, and a list is left as soon as its next rule comes after
the best match found so far, so the answer is exactly the first rule, in plan order, whose
pattern matches and whose conditions hold: the same as walking the rules in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from .conditions import CallContext, Conditions
from .patterns import PatternKind
from .plan import Dialplan, Rule

__all__ = ["CompiledPlan", "compile_dialplan", "first_match_in_order"]

_Residual = Callable[[str], object] | None
_Entry = tuple[int, _Residual, Conditions | None, Rule]
_Entries = tuple[_Entry, ...]
_CHUNK = 8
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


def _first(entries: Iterable[_Entry], number: str, ctx: CallContext, limit: int) -> Rule | None:
    for index, residual, conditions, rule in entries:
        if index >= limit:
            return None
        if residual is not None and not residual(number):
            continue
        if conditions is not None and not conditions.holds(ctx):
            continue
        return rule
    return None


class _Scan:
    """Regexes without a literal, tried on every lookup. They are kept in chunks of up to eight,
    each behind one alternation of its regexes that must match before they are tried one by
    one, and an alternation of all of them comes first. A regex with named groups,
    backreferences or flags cannot be combined: it is a chunk of its own, tried directly."""

    __slots__ = ("any_match", "chunks")

    def __init__(self, entries: Sequence[_Entry]) -> None:
        self.chunks: list[tuple[int, _Residual, _Entries]] = []
        combinable: list[_Entry] = []
        for entry in entries:
            if _can_combine(entry[3]):
                combinable.append(entry)
                if len(combinable) == _CHUNK:
                    self._add(combinable)
                    combinable = []
            else:
                self._add(combinable)
                combinable = []
                self.chunks.append((entry[0], None, (entry,)))
        self._add(combinable)
        whole = all(_can_combine(entry[3]) for entry in entries)
        self.any_match = _combine(entries) if whole and len(self.chunks) > 1 else None

    def _add(self, entries: list[_Entry]) -> None:
        if entries:
            self.chunks.append((entries[0][0], _combine(entries), tuple(entries)))

    def first(self, number: str, ctx: CallContext, limit: int) -> Rule | None:
        if self.chunks[0][0] >= limit:
            return None  # a rule before all of these has matched
        if self.any_match is not None and not self.any_match(number):
            return None
        for first_index, any_match, entries in self.chunks:
            if first_index >= limit:
                return None
            if any_match is not None and not any_match(number):
                continue
            found = _first(entries, number, ctx, limit)
            if found is not None:
                return found
        return None


def _can_combine(rule: Rule) -> bool:
    regex = rule.pattern.regex
    return (
        regex is not None
        and not regex.groupindex
        and not regex.flags & ~re.UNICODE
        and _BACKREFERENCE.search(regex.pattern) is None
    )


def _combine(entries: Sequence[_Entry]) -> _Residual:
    if not entries:
        return None
    try:
        combined = re.compile("|".join(f"(?:{entry[3].pattern.text})" for entry in entries))
    except re.error:
        return None
    return combined.search


class CompiledPlan:
    """A dialplan ready for lookups. Build it once per plan version with `compile_dialplan`."""

    __slots__ = ("_exact", "_lengths", "_prefixed", "_scan", "_size", "plan")

    def __init__(self, plan: Dialplan) -> None:
        self.plan = plan
        self._size = max((rule.index for rule in plan.rules), default=-1) + 1
        exact: dict[str, list[_Entry]] = {}
        prefixed: dict[str, list[_Entry]] = {}
        scanned: list[_Entry] = []
        for rule in plan.rules:
            pattern = rule.pattern
            residual: _Residual = None
            if pattern.kind is PatternKind.ASTERISK:
                assert pattern.regex is not None
                residual = pattern.regex.fullmatch
            elif pattern.kind is PatternKind.REGEX:
                assert pattern.regex is not None
                residual = pattern.regex.search
            entry: _Entry = (rule.index, residual, rule.conditions, rule)
            if not pattern.indexed:
                scanned.append(entry)
            elif pattern.kind is PatternKind.EXACT:
                exact.setdefault(pattern.literal, []).append(entry)
            else:
                prefixed.setdefault(pattern.literal, []).append(entry)
        self._exact: dict[str, _Entries] = {key: tuple(value) for key, value in exact.items()}
        self._prefixed: dict[str, _Entries] = {key: tuple(value) for key, value in prefixed.items()}
        self._lengths = tuple(sorted({len(key) for key in prefixed}))
        self._scan = _Scan(scanned) if scanned else None

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.plan.rules

    def first_match(self, number: str, ctx: CallContext) -> Rule | None:
        """The first rule, in plan order, that matches `number` and whose conditions hold."""
        limit = self._size
        best: Rule | None = None
        prefixed = self._prefixed
        size = len(number)
        for length in self._lengths:
            if length > size:
                break
            entries = prefixed.get(number[:length])
            if entries is not None and entries[0][0] < limit:
                found = _first(entries, number, ctx, limit)
                if found is not None:
                    best, limit = found, found.index
        entries = self._exact.get(number)
        if entries is not None and entries[0][0] < limit:
            found = _first(entries, number, ctx, limit)
            if found is not None:
                best, limit = found, found.index
        if self._scan is not None:
            found = self._scan.first(number, ctx, limit)
            if found is not None:
                best = found
        return best

    def candidates(self, number: str) -> list[Rule]:
        """The rules a lookup of `number` may test, in plan order (for explanations)."""
        entries: list[_Entry] = []
        for length in self._lengths:
            entries.extend(self._prefixed.get(number[:length], ()) if length <= len(number) else ())
        entries.extend(self._exact.get(number, ()))
        if self._scan is not None:
            for _, _, chunk in self._scan.chunks:
                entries.extend(chunk)
        return [entry[3] for entry in sorted(entries, key=lambda entry: entry[0])]


def compile_dialplan(plan: Dialplan) -> CompiledPlan:
    return CompiledPlan(plan)


def first_match_in_order(rules: Iterable[Rule], number: str, ctx: CallContext) -> Rule | None:
    """The reference lookup: every rule in order. Slow; for explanations and tests."""
    for rule in rules:
        if rule.pattern.matches(number) and (rule.conditions is None or rule.conditions.holds(ctx)):
            return rule
    return None
