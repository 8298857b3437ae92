"""Dialplans: the files admins edit, their validation, the compiled matcher and the router.

Pure: it takes the dialplan text, the directory of exchanges and lines, the caller, the dialed
digits and the current time, and returns decisions. No I/O beyond `read_sources`.

    plan = load_dialplan(read_sources(["dialplans"]))      # or {name: text}
    problems = check_dialplan(plan, directory)
    router = Router(compile_dialplan(plan), directory)
    decision = router.route(directory.caller("5551234"), "001", time.time())
"""

from __future__ import annotations

from .actions import Action, Deliver, Queue, Reject, Rewrite, Trunk
from .check import check_dialplan
from .conditions import CallContext, Conditions, TimeWindow
from .decision import (
    Decision,
    ExchangeTarget,
    LineTarget,
    QueueTarget,
    RejectTarget,
    RewriteStep,
    Target,
    TargetKind,
    TrunkTarget,
)
from .diagnostics import Diagnostic, DialplanError, Origin, Severity
from .diff import DialplanDiff, RuleChange, RuleMove, SettingChange, diff_dialplans
from .directory import Caller, Directory, ExchangeEntry, ExchangeLike, LineEntry, LineLike
from .explain import Attempt, Explanation, Pass, explain
from .loader import DialplanSource, load_dialplan, read_sources
from .matcher import CompiledPlan, compile_dialplan, first_match_in_order
from .normalize import normalize
from .patterns import Pattern, PatternError, PatternKind, parse_pattern
from .plan import Dialplan, ExchangeNumbering, Numbering, Rule, Settings
from .router import NO_ROUTE, REWRITE_LOOP, Router

__all__ = [
    "NO_ROUTE",
    "REWRITE_LOOP",
    "Action",
    "Attempt",
    "CallContext",
    "Caller",
    "CompiledPlan",
    "Conditions",
    "Decision",
    "Deliver",
    "Diagnostic",
    "Dialplan",
    "DialplanDiff",
    "DialplanError",
    "DialplanSource",
    "Directory",
    "ExchangeEntry",
    "ExchangeLike",
    "ExchangeNumbering",
    "ExchangeTarget",
    "Explanation",
    "LineEntry",
    "LineLike",
    "LineTarget",
    "Numbering",
    "Origin",
    "Pass",
    "Pattern",
    "PatternError",
    "PatternKind",
    "Queue",
    "QueueTarget",
    "Reject",
    "RejectTarget",
    "Rewrite",
    "RewriteStep",
    "Router",
    "Rule",
    "RuleChange",
    "RuleMove",
    "SettingChange",
    "Settings",
    "Severity",
    "Target",
    "TargetKind",
    "TimeWindow",
    "Trunk",
    "TrunkTarget",
    "check_dialplan",
    "compile_dialplan",
    "diff_dialplans",
    "explain",
    "first_match_in_order",
    "load_dialplan",
    "normalize",
    "parse_pattern",
    "read_sources",
]
