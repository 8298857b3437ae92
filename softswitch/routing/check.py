"""Checks of a loaded dialplan as a whole: rules that can never be used, rewrites that loop,
and, given the directory, exchanges and lines that do not exist.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC

from .actions import Deliver, Queue, Rewrite
from .conditions import CallContext
from .diagnostics import Diagnostic, Origin, Severity
from .directory import Directory
from .matcher import CompiledPlan
from .patterns import PatternKind
from .plan import Dialplan, Rule

__all__ = ["check_dialplan"]


def check_dialplan(plan: Dialplan, directory: Directory | None = None) -> list[Diagnostic]:
    """Errors and warnings about `plan`, in rule order. Exchange codes and line numbers are
    checked only when a `directory` is given (line numbers only if it knows the lines)."""
    found: list[Diagnostic] = []
    if not plan.rules and plan.files:
        found.append(
            Diagnostic(
                Origin(plan.files[0], 1),
                "the dialplan has no rules: every call is rejected with 404",
                Severity.WARNING,
            )
        )
    found.extend(_shadowed(plan))
    found.extend(_rewrite_loops(plan))
    if directory is not None:
        found.extend(_unknown_names(plan, directory))
    files = {name: position for position, name in enumerate(plan.files)}
    return sorted(found, key=lambda d: (files.get(d.origin.file, 0), d.origin.line))


_ANYONE = CallContext(None, None, 0.0, UTC)


def _shadowed(plan: Dialplan) -> list[Diagnostic]:
    """Rules that no number can reach, because an earlier rule without conditions matches
    every number they match."""
    found: list[Diagnostic] = []
    unconditional = [rule for rule in plan.rules if rule.conditions is None]
    compiled = CompiledPlan(dataclasses.replace(plan, rules=tuple(unconditional)))
    same_pattern: dict[tuple[str, str], Rule] = {}
    prefixes: dict[str, Rule] = {}
    for rule in plan.rules:
        pattern = rule.pattern
        earlier = same_pattern.get(pattern.key)
        how = "has the same pattern"
        if earlier is None and pattern.indexed:
            for end in range(len(pattern.literal) + 1):
                covering = prefixes.get(pattern.literal[:end])
                if covering is not None:
                    earlier, how = covering, _covers(covering)
                    break
        if earlier is None and "" in prefixes:
            earlier = prefixes[""]
            how = _covers(earlier)
        if earlier is None and pattern.kind is PatternKind.EXACT:
            first = compiled.first_match(pattern.literal, _ANYONE)
            if first is not None and first.index < rule.index:
                earlier, how = first, f"matches {pattern.literal} first"
        if earlier is not None:
            found.append(
                Diagnostic(
                    rule.origin,
                    f'rule "{rule.name}" is never used: rule "{earlier.name}" '
                    f"({earlier.origin}) {how} and has no conditions",
                    Severity.WARNING,
                )
            )
        if rule.conditions is None:
            same_pattern.setdefault(pattern.key, rule)
            if pattern.kind is PatternKind.PREFIX:
                prefixes.setdefault(pattern.literal, rule)
    return found


def _covers(rule: Rule) -> str:
    literal = rule.pattern.literal
    return f"matches every number starting with {literal}" if literal else "matches any number"


def _rewrite_loops(plan: Dialplan) -> list[Diagnostic]:
    """Rewrites that send a number round and round. Conditions are taken as true, so a loop
    through a rule with conditions is a warning (it happens only when they hold together)."""
    rewrites = [rule for rule in plan.rules if isinstance(rule.action, Rewrite)]
    if not rewrites:
        return []
    unconditioned = dataclasses.replace(
        plan, rules=tuple(dataclasses.replace(rule, conditions=None) for rule in plan.rules)
    )
    compiled = CompiledPlan(unconditioned)
    found: list[Diagnostic] = []
    reported: set[frozenset[str]] = set()
    limit = plan.settings.max_rewrites
    for rule in rewrites:
        number = rule.pattern.example()
        if number is None or not rule.pattern.matches(number):
            continue
        trail: list[tuple[str, str]] = []  # (rule name, number it was applied to)
        seen: dict[tuple[str, str], int] = {}
        current = compiled.first_match(number, _ANYONE)
        while current is not None and isinstance(current.action, Rewrite):
            state = (current.name, number)
            if state in seen or len(trail) > limit:
                loop = trail[seen.get(state, 0) :]
                names = frozenset(name for name, _ in loop)
                if names not in reported:
                    reported.add(names)
                    found.append(_loop_diagnostic(plan, loop, number, state in seen, limit))
                break
            seen[state] = len(trail)
            trail.append(state)
            number = current.action.apply(number)
            current = compiled.first_match(number, _ANYONE)
    return found


def _loop_diagnostic(
    plan: Dialplan, loop: list[tuple[str, str]], number: str, repeats: bool, limit: int
) -> Diagnostic:
    rules = [plan.rule(name) for name, _ in loop]
    first = min((r for r in rules if r is not None), key=lambda r: r.index)
    conditional = any(r is not None and r.conditions is not None for r in rules)
    names = " -> ".join(f'"{name}"' for name, _ in loop[:4])
    numbers = " -> ".join(n for _, n in loop[:4]) + (" ..." if len(loop) > 4 else f" -> {number}")
    if repeats:
        message = f"rewrite loop: {names} ({numbers})"
    else:
        message = f"more than max_rewrites = {limit} rewrites in a row: {names} ({numbers})"
    if conditional:
        message += " when the conditions of these rules hold together"
    return Diagnostic(first.origin, message, Severity.WARNING if conditional else Severity.ERROR)


def _unknown_names(plan: Dialplan, directory: Directory) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for code in plan.numbering.exchanges:
        if directory.exchange(code) is None:
            origin = plan.origins.get(f"numbering.{code}")
            if origin is not None:
                found.append(Diagnostic(origin, f"[numbering.{code}]: no exchange {code}"))
    for rule in plan.rules:
        action = rule.action
        label = f'rule "{rule.name}"'
        if (
            isinstance(action, Deliver | Queue)
            and action.exchange is not None
            and directory.exchange(action.exchange) is None
        ):
            found.append(
                Diagnostic(
                    plan.origin_of(rule, action.kind),
                    f"{label}: no exchange {action.exchange}",
                )
            )
        if (
            isinstance(action, Deliver)
            and action.line is not None
            and directory.knows_lines
            and directory.line(action.line) is None
        ):
            found.append(
                Diagnostic(plan.origin_of(rule, "deliver"), f"{label}: no line {action.line}")
            )
        conditions = rule.conditions
        if conditions is not None and conditions.caller_exchanges is not None:
            for code in sorted(conditions.caller_exchanges):
                if directory.exchange(code) is None:
                    found.append(
                        Diagnostic(
                            plan.origin_of(rule, "caller_exchange"),
                            f"{label}: caller_exchange: no exchange {code}",
                        )
                    )
    return found
