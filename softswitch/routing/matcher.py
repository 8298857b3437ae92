"""The compiled dialplan: a trie over the digits of each rule's literal, for first-match lookups
that do not walk every rule.

Each rule sits at the trie node of its literal (an exact number at its last digit, among the
rules that match only the whole number; a prefix, Asterisk pattern or anchored regex among the
rules that match anything below). Looking a number up walks its digits once; the rules met on the
way, plus the few regexes without a literal (scanned on every lookup), are the only candidates.
Every list is in rule order, and a list is left as soon as its next rule comes after the best
match found so far, so the answer is exactly the first rule, in plan order, whose pattern matches
and whose conditions hold: the same as walking the rules in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .conditions import CallContext, Conditions
from .patterns import PatternKind
from .plan import Dialplan, Rule

__all__ = ["CompiledPlan", "compile_dialplan", "first_match_in_order"]

_Residual = Callable[[str], object] | None
_Entry = tuple[int, _Residual, Conditions | None, Rule]


class _Node:
    __slots__ = ("children", "exact", "prefixed")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.exact: Sequence[_Entry] = []
        self.prefixed: Sequence[_Entry] = []


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


class CompiledPlan:
    """A dialplan ready for lookups. Build it once per plan version with `compile_dialplan`."""

    __slots__ = ("_root", "_scanned", "_size", "plan")

    def __init__(self, plan: Dialplan) -> None:
        self.plan = plan
        self._size = max((rule.index for rule in plan.rules), default=-1) + 1
        self._root = _Node()
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
                continue
            node = self._root
            for char in pattern.literal:
                child = node.children.get(char)
                if child is None:
                    child = node.children[char] = _Node()
                node = child
            bucket = node.exact if pattern.kind is PatternKind.EXACT else node.prefixed
            assert isinstance(bucket, list)
            bucket.append(entry)
        self._scanned = tuple(scanned)
        _freeze(self._root)

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self.plan.rules

    def first_match(self, number: str, ctx: CallContext) -> Rule | None:
        """The first rule, in plan order, that matches `number` and whose conditions hold."""
        limit = self._size
        best: Rule | None = None
        node = self._root
        if node.prefixed:
            found = _first(node.prefixed, number, ctx, limit)
            if found is not None:
                best, limit = found, found.index
        for char in number:
            next_node = node.children.get(char)
            if next_node is None:
                break
            node = next_node
            if node.prefixed:
                found = _first(node.prefixed, number, ctx, limit)
                if found is not None:
                    best, limit = found, found.index
        else:
            if node.exact:
                found = _first(node.exact, number, ctx, limit)
                if found is not None:
                    best, limit = found, found.index
        if self._scanned:
            found = _first(self._scanned, number, ctx, limit)
            if found is not None:
                best = found
        return best

    def candidates(self, number: str) -> list[Rule]:
        """The rules a lookup of `number` may test, in plan order (for explanations)."""
        entries: list[_Entry] = list(self._root.prefixed)
        node = self._root
        for char in number:
            next_node = node.children.get(char)
            if next_node is None:
                break
            node = next_node
            entries.extend(node.prefixed)
        else:
            entries.extend(node.exact)
        entries.extend(self._scanned)
        return [entry[3] for entry in sorted(entries, key=lambda entry: entry[0])]


def _freeze(root: _Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        node.exact = tuple(node.exact)
        node.prefixed = tuple(node.prefixed)
        stack.extend(node.children.values())


def compile_dialplan(plan: Dialplan) -> CompiledPlan:
    return CompiledPlan(plan)


def first_match_in_order(rules: Iterable[Rule], number: str, ctx: CallContext) -> Rule | None:
    """The reference lookup: every rule in order. Slow; for explanations and tests."""
    for rule in rules:
        if rule.pattern.matches(number) and (rule.conditions is None or rule.conditions.holds(ctx)):
            return rule
    return None
