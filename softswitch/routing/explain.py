"""Why a call goes where it goes: every rule tried, in order, and the reason it was passed over.

An explanation walks the rules one by one, which is slow but plain; it shares the router's
normalization, rewrite loop and targets, so its decision is the one `route()` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .conditions import DAY_NAMES, CallContext
from .decision import Decision
from .directory import Caller
from .plan import Rule

if TYPE_CHECKING:
    from .router import Router

__all__ = ["Attempt", "Explanation", "Pass", "explain"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One rule tried: `pattern_matched` tells whether its pattern matched; `why` is the
    condition that was false, or "" when the rule matched."""

    rule: Rule
    pattern_matched: bool
    why: str = ""

    @property
    def matched(self) -> bool:
        return self.pattern_matched and not self.why


@dataclass(frozen=True, slots=True)
class Pass:
    """One walk over the rules with `number` (a rewrite starts another). `candidates`: how many
    rules the compiled matcher considers for this number."""

    number: str
    attempts: tuple[Attempt, ...]
    candidates: int


@dataclass(frozen=True, slots=True)
class Explanation:
    caller: Caller
    dialed: str
    local_time: datetime
    timezone: str
    normalization: tuple[str, ...]
    passes: tuple[Pass, ...]
    decision: Decision
    rule_count: int

    def render(self, *, verbose: bool = False) -> str:
        """Plain text for the command line. Rules whose pattern did not match are counted, not
        listed, unless `verbose`."""
        when = self.local_time
        day = DAY_NAMES[when.weekday()].capitalize()
        lines = [
            f'Call from {self.caller.describe()} to "{self.dialed}"',
            f"Time: {day} {when:%Y-%m-%d %H:%M} ({self.timezone})",
        ]
        number = self.decision.number if not self.passes else self.passes[0].number
        if self.normalization:
            lines.append(f"Number: {self.dialed} -> {number}")
            lines.extend(f"  {step}" for step in self.normalization)
        else:
            lines.append(f"Number: {number or '(empty)'}")
        for count, walk in enumerate(self.passes, 1):
            lines.append(
                f"Pass {count} with {walk.number} (the index leaves {walk.candidates} of "
                f"{self.rule_count} rules to test)"
            )
            lines.extend(_render_attempts(walk.attempts, verbose))
            if count <= len(self.decision.rewrites):
                step = self.decision.rewrites[count - 1]
                lines.append(
                    f'  rewrite {step.before} -> {step.after} (rule "{step.rule.name}": '
                    f"{step.rule.action.describe().removeprefix('rewrite: ')})"
                )
        lines.append(f"Result: {self.decision.describe()}")
        return "\n".join(lines)


def _render_attempts(attempts: tuple[Attempt, ...], verbose: bool) -> list[str]:
    rows: list[tuple[str, Rule, str]] = []
    skipped = 0
    for attempt in attempts:
        rule = attempt.rule
        if attempt.matched:
            rows.append(("match", rule, rule.action.describe()))
        elif attempt.pattern_matched:
            rows.append(("skip", rule, f"condition false: {attempt.why}"))
        elif verbose:
            rows.append(("skip", rule, f"{rule.pattern.describe()} does not match"))
        else:
            skipped += 1
    width = max((len(rule.name) for _, rule, _ in rows), default=0)
    lines = [
        f"  {outcome:<5} {rule.name:<{width}}  {rule.origin}  {why}" for outcome, rule, why in rows
    ]
    if skipped:
        plural = "s" if skipped != 1 else ""
        lines.append(f"  ({skipped} other rule{plural} tried: pattern did not match)")
    if not attempts:
        lines.append("  (no rules)")
    return lines


def explain(router: Router, caller: Caller, dialed: str, now: float | datetime) -> Explanation:
    """The explanation of `router.route(caller, dialed, now)`."""
    plan = router.plan
    passes: list[Pass] = []

    def walk(number: str, ctx: CallContext) -> Rule | None:
        attempts: list[Attempt] = []
        found: Rule | None = None
        for rule in plan.rules:
            if not rule.pattern.matches(number):
                attempts.append(Attempt(rule, False))
                continue
            why = rule.conditions.failing(ctx) if rule.conditions is not None else None
            if why is not None:
                attempts.append(Attempt(rule, True, why))
                continue
            attempts.append(Attempt(rule, True))
            found = rule
            break
        passes.append(Pass(number, tuple(attempts), len(router.compiled.candidates(number))))
        return found

    steps: list[str] = []
    decision = router.decide(caller, dialed, now, walk, steps)
    ctx = CallContext(caller.exchange, caller.line_class, now, plan.settings.tz)
    return Explanation(
        caller=caller,
        dialed=dialed,
        local_time=ctx.local_time(),
        timezone=plan.settings.timezone,
        normalization=tuple(steps),
        passes=tuple(passes),
        decision=decision,
        rule_count=len(plan.rules),
    )
