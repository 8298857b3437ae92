"""The compiled matcher decides exactly as a walk over the rules in order would; and a plan of
10,000 rules routes correctly."""

from __future__ import annotations

import random
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softswitch.routing import (
    Caller,
    Decision,
    Directory,
    ExchangeEntry,
    LineTarget,
    QueueTarget,
    RejectTarget,
    Router,
    TrunkTarget,
    first_match_in_order,
    load_dialplan,
)

DIGITS = "0123"
literals = st.text(DIGITS, min_size=0, max_size=3)
nonempty_literals = st.text(DIGITS, min_size=1, max_size=3)

asterisk = st.builds(
    lambda head, body, tail: "_" + head + "".join(body) + tail,
    literals,
    st.lists(st.sampled_from(["X", "Z", "N", "[1-2]", "[03]", "0", "3", "*"]), max_size=3),
    st.sampled_from(["", "", ".", "!"]),
).filter(lambda p: len(p) > 1)

regexes = st.one_of(
    st.builds(
        lambda lit, tail: f"^{lit}{tail}",
        literals,
        st.sampled_from(["", "\\d", "[0-2]*", "$", "\\d$", "1?", "(1|2)", "\\*"]),
    ),
    st.builds(lambda lit: f"{lit}$", nonempty_literals),
    st.builds(lambda lit: lit, nonempty_literals),
    st.builds(lambda lit: f"(1|2){lit}", literals),
    st.builds(lambda a, b: f"^{a}|{b}$", literals, nonempty_literals),
    st.builds(lambda lit: f"({lit})\\1", nonempty_literals),  # cannot be combined
    st.builds(lambda lit: f"(?P<g>{lit})3", literals),  # nor can this
    st.just("3{2}"),
)

patterns = st.one_of(
    st.builds(lambda lit: f'exact = "{lit}"', nonempty_literals),
    st.builds(lambda lit: f'prefix = "{lit}"', literals),
    st.builds(lambda lit: f'pattern = "{lit}*"', literals),
    st.builds(lambda p: f'pattern = "{p}"', asterisk),
    st.builds(lambda r: f"regex = '{r}'", regexes),
)

conditions = st.one_of(
    st.just(""),
    st.just(""),
    st.sampled_from(['caller_exchange = ["A"]', 'caller_exchange = ["A", "B"]']),
    st.sampled_from(['time = "08:00-18:00"', 'time = "18:00-08:00"', 'days = "mon-fri"']),
    st.just('caller_class = "payphone"'),
)

actions = st.one_of(
    st.builds(lambda s: f"reject = {{ status = {s} }}", st.sampled_from([403, 404, 486])),
    st.builds(lambda lit: f'deliver = {{ line = "1{lit}" }}', literals),
    st.sampled_from(['deliver = { exchange = "A" }', 'deliver = { exchange = "B" }']),
    st.just('queue = { name = "q" }'),
    st.builds(
        lambda strip, prepend: f'rewrite = {{ strip = {strip}, prepend = "{prepend}" }}',
        st.integers(0, 2),
        literals,
    ).filter(lambda text: 'strip = 0, prepend = ""' not in text),
    st.builds(
        lambda a, b: f'rewrite = {{ substitute = ["^{a}", "{b}"] }}', nonempty_literals, literals
    ),
)

rules = st.lists(st.tuples(patterns, conditions, actions), min_size=1, max_size=25)
numbers = st.text(DIGITS + "*", min_size=0, max_size=6)
callers = st.sampled_from(
    [Caller(), Caller("100", "A"), Caller("200", "B", "payphone"), Caller("201", "B")]
)
times = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2024, 12, 31))

DIRECTORY = Directory(
    [ExchangeEntry("A", "1"), ExchangeEntry("B", "2", trunk_uris=("sip:b.example",))]
)


def plan_text(spec: list[tuple[str, str, str]], max_rewrites: int) -> str:
    parts = [f"[settings]\nmax_rewrites = {max_rewrites}\n[numbering]\nlocal_length = 2\n"]
    for index, (pattern, condition, action) in enumerate(spec):
        parts.append(f'[[rule]]\nname = "r{index}"\n{pattern}\n{condition}\n{action}\n')
    return "\n".join(parts)


def in_order(router: Router, caller: Caller, number: str, now: datetime) -> Decision:
    rules = router.plan.rules
    return router.decide(caller, number, now, lambda n, ctx: first_match_in_order(rules, n, ctx))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules,
    st.lists(st.tuples(callers, numbers, times), min_size=1, max_size=10),
    st.integers(1, 4),
)
def test_compiled_plan_decides_as_the_in_order_walk(
    spec: list[tuple[str, str, str]],
    calls: list[tuple[Caller, str, datetime]],
    max_rewrites: int,
) -> None:
    router = Router(load_dialplan({"p.toml": plan_text(spec, max_rewrites)}), DIRECTORY)
    for caller, number, now in calls:
        decision = router.route(caller, number, now)
        assert decision == in_order(router, caller, number, now)
        assert decision == router.explain(caller, number, now).decision


@given(rules, numbers)
def test_candidates_hold_every_rule_that_matches(
    spec: list[tuple[str, str, str]], number: str
) -> None:
    router = Router(load_dialplan({"p.toml": plan_text(spec, 3)}), DIRECTORY)
    candidates = set(router.compiled.candidates(number))
    assert {r for r in router.plan.rules if r.pattern.matches(number)} <= candidates


# -- a plan of 10,000 rules ---------------------------------------------------------------------


def large_plan(count: int, rng: random.Random) -> tuple[str, dict[str, object]]:
    """A plan of `count` rules and, for a number of each, the target it must reach."""
    parts = ['[settings]\ntimezone = "America/Chicago"\n']
    expected: dict[str, object] = {}
    used: set[str] = set()

    def fresh(length: int, first: str) -> str:
        while True:
            digits = first + "".join(rng.choice("0123456789") for _ in range(length - len(first)))
            if digits not in used:
                used.add(digits)
                return digits

    for i in range(count):
        kind = i % 10
        if kind < 5:  # special lines, some with a night line
            number = fresh(7, "55")
            if kind == 0:
                parts.append(
                    f'[[rule]]\nname = "night-{i}"\nexact = "{number}"\ntime = "18:00-08:00"\n'
                    f'deliver = {{ line = "5559{number[-3:]}" }}\n'
                )
            parts.append(
                f'[[rule]]\nname = "line-{i}"\nexact = "{number}"\n'
                f'deliver = {{ line = "{number}" }}\n'
            )
            expected[number] = LineTarget(number)
        elif kind < 7:  # area codes to carriers
            prefix = fresh(5, "1")
            parts.append(
                f'[[rule]]\nname = "area-{i}"\nprefix = "{prefix}"\n'
                f'trunk = {{ uris = ["sip:gw{i % 7}.example"] }}\n'
            )
            expected[prefix + "12345"] = TrunkTarget((f"sip:gw{i % 7}.example",))
        elif kind < 9:  # blocks of an exchange
            head = fresh(5, "6")
            parts.append(
                f'[[rule]]\nname = "block-{i}"\npattern = "_{head}[0-4]X"\n'
                f'queue = {{ name = "q{i % 20}" }}\n'
            )
            expected[head + "37"] = QueueTarget(f"q{i % 20}")
            expected.setdefault(head + "57", RejectTarget(404, "No route"))
        else:  # regexes, anchored or not
            head = fresh(5, "7")
            regex = f"^{head}(\\d{{2}})$" if i % 20 == 9 else f"{head}#$"
            parts.append(
                f"[[rule]]\nname = \"regex-{i}\"\nregex = '{regex}'\nreject = {{ status = 403 }}\n"
            )
            expected[head + "00" if regex.startswith("^") else f"3{head}#"] = RejectTarget(
                403, "Forbidden"
            )
    return "\n".join(parts), expected


def test_ten_thousand_rules() -> None:
    rng = random.Random(7)
    text, expected = large_plan(9_100, rng)
    plan = load_dialplan({"large.toml": text})
    assert len(plan.rules) == 10_010  # with a night line for every tenth rule
    router = Router(plan, Directory())
    day, night = datetime(2024, 5, 6, 12, 0), datetime(2024, 5, 6, 23, 0)
    caller = Caller("5551234", "ASH")
    for number, target in expected.items():
        assert router.route(caller, number, day).target == target, number
    nights = [r for r in plan.rules if r.name.startswith("night-")]
    for rule in nights[:200]:
        decision = router.route(caller, rule.pattern.literal, night)
        assert decision.rule == rule
        assert decision.target == LineTarget(f"5559{rule.pattern.literal[-3:]}")
    sample = rng.sample(sorted(expected), 100) + [rng.choice("0123456789") * 7 for _ in range(20)]
    for number in sample:
        for now in (day, night):
            assert router.route(caller, number, now) == in_order(router, caller, number, now)
