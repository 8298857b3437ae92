"""The router: a compiled dialplan and the directory, asked where a call goes.

`Router.route(caller, dialed, now)` normalizes the digits, finds the first rule that matches,
applies rewrites (matching again from the first rule after each, at most `max_rewrites` times)
and turns the action into a target, using the directory to tell a line or exchange served here
from one behind a trunk or on a manual board.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .actions import Deliver, Queue, Reject, Rewrite, Trunk
from .conditions import CallContext
from .decision import (
    Decision,
    ExchangeTarget,
    LineTarget,
    QueueTarget,
    RejectTarget,
    RewriteStep,
    Target,
    TrunkTarget,
)
from .directory import Caller, Directory, ExchangeLike
from .explain import Explanation, explain
from .matcher import CompiledPlan, compile_dialplan
from .normalize import Normalizer, is_valid_number
from .plan import Dialplan, Rule

__all__ = ["NO_ROUTE", "REWRITE_LOOP", "Finder", "Router"]

NO_ROUTE = RejectTarget(404, "No route")
REWRITE_LOOP = RejectTarget(500, "Dialplan rewrite loop")
INCOMPLETE = RejectTarget(484, "Address Incomplete")
NOT_A_NUMBER = RejectTarget(404, "Not a telephone number")

Finder = Callable[[str, CallContext], Rule | None]


class Router:
    """Routing decisions for one dialplan version and one view of the directory. Cheap to
    build from a `CompiledPlan`: make a new one when either changes."""

    __slots__ = ("_max_rewrites", "_normalize", "_targets", "_tz", "compiled", "directory", "plan")

    def __init__(self, plan: Dialplan | CompiledPlan, directory: Directory | None = None) -> None:
        self.compiled = plan if isinstance(plan, CompiledPlan) else compile_dialplan(plan)
        self.plan = self.compiled.plan
        self.directory = directory if directory is not None else Directory()
        self._normalize = Normalizer(self.plan.numbering, self.directory)
        self._max_rewrites = self.plan.settings.max_rewrites
        self._tz = self.plan.settings.tz
        # per rule: its target, and the number a delivery to a line sends on (None: unchanged)
        self._targets: list[tuple[Target, str | None] | None] = [None] * len(self.plan.rules)

    def route(self, caller: Caller, dialed: str, now: float | datetime) -> Decision:
        """Where a call from `caller` to `dialed` goes at `now` (seconds since the epoch, or a
        datetime; a naive one is taken as local time of the dialplan's time zone)."""
        return self.decide(caller, dialed, now, self.compiled.first_match)

    def explain(self, caller: Caller, dialed: str, now: float | datetime) -> Explanation:
        """Every rule tried for this call and why it was passed over, and the decision (the one
        `route()` gives)."""
        return explain(self, caller, dialed, now)

    def decide(
        self,
        caller: Caller,
        dialed: str,
        now: float | datetime,
        find: Finder,
        steps: list[str] | None = None,
    ) -> Decision:
        """`route()` with another rule finder (an explanation's in-order walk); normalization
        steps are described in `steps` when it is a list."""
        number = self._normalize(dialed, caller.exchange, steps)
        if not number:
            return Decision(INCOMPLETE, number, dialed)
        if not is_valid_number(number):
            return Decision(NOT_A_NUMBER, number, dialed)
        ctx = CallContext(caller.exchange, caller.line_class, now, self._tz)
        rule = find(number, ctx)
        if rule is None:
            return Decision(NO_ROUTE, number, dialed)
        if type(rule.action) is not Rewrite:
            target, line = self._target_of(rule)
            return Decision(target, line or number, dialed, (rule,))
        return self._rewrite(rule, number, dialed, ctx, find)

    def _rewrite(
        self, rule: Rule, number: str, dialed: str, ctx: CallContext, find: Finder
    ) -> Decision:
        rules: list[Rule] = []
        rewrites: list[RewriteStep] = []
        while True:
            action = rule.action
            rules.append(rule)
            if type(action) is not Rewrite:
                target, line = self._target_of(rule)
                return Decision(target, line or number, dialed, tuple(rules), tuple(rewrites))
            if len(rewrites) == self._max_rewrites:
                return Decision(REWRITE_LOOP, number, dialed, tuple(rules), tuple(rewrites))
            rewritten = action.apply(number)
            rewrites.append(RewriteStep(rule, number, rewritten))
            number = rewritten
            found = find(number, ctx)
            if found is None:
                return Decision(NO_ROUTE, number, dialed, tuple(rules), tuple(rewrites))
            rule = found

    def target(self, rule: Rule) -> Target:
        """The target of a rule's (final) action, resolved against the directory."""
        return self._target_of(rule)[0]

    def _target_of(self, rule: Rule) -> tuple[Target, str | None]:
        resolved = self._targets[rule.index]
        if resolved is None:
            action = rule.action
            line = action.line if isinstance(action, Deliver) else None
            resolved = self._targets[rule.index] = (self._resolve(rule), line)
        return resolved

    def _resolve(self, rule: Rule) -> Target:
        action = rule.action
        if isinstance(action, Deliver):
            if action.line is not None:
                return self._line_target(action.line)
            assert action.exchange is not None
            exchange = self.directory.exchange(action.exchange)
            if exchange is None:
                return RejectTarget(404, f"Unknown exchange {action.exchange}")
            return _exchange_target(exchange, None)
        if isinstance(action, Trunk):
            return TrunkTarget(action.uris, action.timeout)
        if isinstance(action, Queue):
            return QueueTarget(action.name, action.exchange, action.priority)
        if isinstance(action, Reject):
            return RejectTarget(action.status, action.reason)
        raise TypeError(f"no target for {action!r}")  # a rewrite never ends a route

    def _line_target(self, number: str) -> Target:
        directory = self.directory
        line = directory.line(number)
        if line is None and directory.knows_lines:
            return RejectTarget(404, "No such line")
        exchange = (
            directory.exchange(line.exchange_code)
            if line is not None
            else directory.exchange_of_number(number)
        )
        if exchange is None:
            return LineTarget(number, line.exchange_code if line is not None else None)
        return _exchange_target(exchange, number)


def _exchange_target(exchange: ExchangeLike, line: str | None) -> Target:
    """A trunk when the exchange is served elsewhere; else its operator queue when it is
    manual; else the line, or the exchange's lines."""
    if exchange.trunk_uris:
        return TrunkTarget(tuple(exchange.trunk_uris), None, exchange.code)
    if exchange.mode == "manual":
        return QueueTarget(exchange.code, exchange.code, 0, line)
    if line is not None:
        return LineTarget(line, exchange.code)
    return ExchangeTarget(exchange.code)
