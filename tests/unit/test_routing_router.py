"""The router: patterns of every kind, conditions, actions, rewrites, normalization, targets."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from softswitch.routing import (
    Caller,
    Decision,
    Directory,
    ExchangeEntry,
    ExchangeTarget,
    LineEntry,
    LineTarget,
    QueueTarget,
    RejectTarget,
    Router,
    TargetKind,
    TrunkTarget,
    load_dialplan,
)

MONDAY_NOON = datetime(2024, 5, 6, 12, 0)  # naive: local time of the dialplan
ASH_CALLER = Caller("5551234", "ASH", "residential")

DIRECTORY = Directory(
    [
        ExchangeEntry("ASH", "5551"),
        ExchangeEntry("BIR", "5552", trunk_uris=("sip:bir1.example", "sip:bir2.example")),
        ExchangeEntry("CED", "5553", mode="manual"),
    ]
)


def router(text: str, directory: Directory = DIRECTORY) -> Router:
    plan = load_dialplan({"dialplans/test.toml": textwrap.dedent(text)})
    return Router(plan, directory)


def route(
    text: str,
    dialed: str,
    caller: Caller = ASH_CALLER,
    now: datetime | float = MONDAY_NOON,
    directory: Directory = DIRECTORY,
) -> Decision:
    r = router(text, directory)
    decision = r.route(caller, dialed, now)
    assert r.explain(caller, dialed, now).decision == decision
    return decision


def matched(text: str, dialed: str, **kwargs: object) -> str | None:
    decision = route(text, dialed, **kwargs)  # type: ignore[arg-type]
    return decision.rule.name if decision.rule else None


def one_rule(pattern: str, **extra: str) -> str:
    lines = [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(["[[rule]]", 'name = "r"', pattern, *lines, "reject = { status = 403 }", ""])


# -- patterns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "number", "hit"),
    [
        ('pattern = "5551001"', "5551001", True),
        ('pattern = "5551001"', "55510011", False),
        ('pattern = "5551001"', "555100", False),
        ('exact = "*69"', "*69", True),
        ('pattern = "5552*"', "5552001", True),
        ('pattern = "5552*"', "5552", True),
        ('pattern = "5552*"', "5553001", False),
        ('prefix = "5552"', "55520", True),
        ('pattern = "*"', "1", True),
        ('prefix = ""', "123", True),
        ('pattern = "_555XXXX"', "5551234", True),
        ('pattern = "_555XXXX"', "555123", False),
        ('pattern = "_555XXXX"', "55512345", False),
        ('pattern = "_555xxxx"', "5559999", True),
        ('pattern = "_NXX"', "200", True),
        ('pattern = "_NXX"', "100", False),
        ('pattern = "_ZXX"', "100", True),
        ('pattern = "_ZXX"', "000", False),
        ('pattern = "_0[1-4]XX."', "02991", True),
        ('pattern = "_0[1-4]XX."', "0299", False),  # "." needs at least one more
        ('pattern = "_0[1-4]XX."', "05991", False),
        ('pattern = "_0[137]X"', "070", True),
        ('pattern = "_0[137]X"', "020", False),
        ('pattern = "_0[1-35]X"', "050", True),
        ('pattern = "_0[1-35]X"', "040", False),
        ('pattern = "_411!"', "411", True),
        ('pattern = "_411!"', "4115", True),
        ('pattern = "_*7X"', "*71", True),
        ("regex = '^9(\\d{7})$'", "95551234", True),
        ("regex = '^9(\\d{7})$'", "9555123", False),
        ('regex = "^9(\\\\d{7})$"', "95551234", True),
        ("regex = '00$'", "5551200", True),  # unanchored: searched anywhere
        ("regex = '00$'", "5551201", False),
        ("regex = '^55|^66'", "6612", True),
        ("regex = '^5?5'", "5", True),
    ],
)
def test_pattern_kinds(pattern: str, number: str, hit: bool) -> None:
    assert (matched(one_rule(pattern), number, caller=Caller()) == "r") is hit


def test_first_matching_rule_wins() -> None:
    text = """
        [[rule]]
        name = "special"
        exact = "5551001"
        reject = { status = 403 }

        [[rule]]
        name = "general"
        pattern = "_5551XXX"
        deliver = { exchange = "ASH" }

        [[rule]]
        name = "never"
        exact = "5551002"
        reject = { status = 410 }
    """
    assert matched(text, "5551001") == "special"
    assert matched(text, "5551002") == "general"


# -- conditions ---------------------------------------------------------------------------------

NIGHT = """
    [[rule]]
    name = "night"
    exact = "5551300"
    time = "18:00-08:00"
    deliver = { line = "5551301" }

    [[rule]]
    name = "day"
    exact = "5551300"
    deliver = { line = "5551300" }
"""


@pytest.mark.parametrize(
    ("hour", "minute", "rule"),
    [
        (17, 59, "day"),
        (18, 0, "night"),
        (23, 59, "night"),
        (0, 0, "night"),
        (7, 59, "night"),
        (8, 0, "day"),
        (12, 0, "day"),
    ],
)
def test_time_window_over_midnight(hour: int, minute: int, rule: str) -> None:
    assert matched(NIGHT, "5551300", now=datetime(2024, 5, 6, hour, minute)) == rule


@pytest.mark.parametrize(
    ("window", "hour", "hit"),
    [
        ('"08:00-18:00"', 8, True),
        ('"08:00-18:00"', 18, False),
        ('"18:00-24:00"', 23, True),
        ('"18:00-24:00"', 0, False),
        ('"00:00-24:00"', 3, True),
        ('["00:00-07:00", "19:00-24:00"]', 6, True),
        ('["00:00-07:00", "19:00-24:00"]', 12, False),
        ('["00:00-07:00", "19:00-24:00"]', 20, True),
    ],
)
def test_time_windows(window: str, hour: int, hit: bool) -> None:
    text = one_rule('exact = "1"', time=window)
    assert (matched(text, "1", now=datetime(2024, 5, 6, hour, 0)) == "r") is hit


@pytest.mark.parametrize(
    ("days", "day", "hit"),
    [
        ('"mon-fri"', 6, True),  # 2024-05-06 is a Monday
        ('"mon-fri"', 10, True),  # Friday
        ('"mon-fri"', 11, False),  # Saturday
        ('["sat", "sun"]', 12, True),
        ('["sat", "sun"]', 8, False),
        ('"fri-mon"', 12, True),  # a range that wraps over the weekend
        ('"fri-mon"', 13, True),
        ('"fri-mon"', 14, False),
        ('"Tuesday"', 7, True),
        ('["mon", "wed-thu"]', 9, True),
        ('["mon", "wed-thu"]', 7, False),
    ],
)
def test_days(days: str, day: int, hit: bool) -> None:
    text = one_rule('exact = "1"', days=days)
    assert (matched(text, "1", now=datetime(2024, 5, day, 12, 0)) == "r") is hit


def test_time_and_days_are_each_read_from_the_clock() -> None:
    text = one_rule('exact = "1"', days='"fri"', time='"22:00-06:00"')
    assert matched(text, "1", now=datetime(2024, 5, 10, 23, 0)) == "r"  # Friday night
    assert matched(text, "1", now=datetime(2024, 5, 10, 2, 0)) == "r"  # Friday early
    assert matched(text, "1", now=datetime(2024, 5, 11, 2, 0)) is None  # Saturday early


def test_epoch_time_is_read_in_the_plan_time_zone() -> None:
    text = '[settings]\ntimezone = "America/Chicago"\n' + NIGHT
    noon_utc = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)  # 07:00 in Chicago (CDT)
    assert matched(text, "5551300", now=noon_utc.timestamp()) == "night"
    assert matched(text, "5551300", now=noon_utc) == "night"
    assert matched(text, "5551300", now=datetime(2024, 5, 6, 19, 0, tzinfo=UTC)) == "day"


def test_caller_conditions() -> None:
    text = """
        [[rule]]
        name = "ash-operator"
        exact = "0"
        caller_exchange = ["ASH"]
        queue = { exchange = "ASH" }

        [[rule]]
        name = "payphone-operator"
        exact = "0"
        caller_class = "payphone"
        queue = { name = "payphones" }

        [[rule]]
        name = "other-operator"
        exact = "0"
        caller_exchange = ["BIR", "CED"]
        queue = { exchange = "CED" }
    """
    assert matched(text, "0", caller=Caller("5551234", "ASH")) == "ash-operator"
    assert matched(text, "0", caller=Caller("5552001", "BIR", "payphone")) == "payphone-operator"
    assert matched(text, "0", caller=Caller("5553001", "CED")) == "other-operator"
    assert matched(text, "0", caller=Caller()) is None


# -- actions and targets ------------------------------------------------------------------------

ACTIONS = """
    [[rule]]
    name = "to-line"
    exact = "1"
    deliver = { line = "5551001" }

    [[rule]]
    name = "to-ash"
    exact = "2"
    deliver = { exchange = "ASH" }

    [[rule]]
    name = "to-bir"
    exact = "3"
    deliver = { exchange = "BIR" }

    [[rule]]
    name = "to-ced"
    exact = "4"
    deliver = { exchange = "CED" }

    [[rule]]
    name = "carrier"
    exact = "5"
    trunk = { uris = ["sip:a.example", "sips:b.example;transport=tcp"], timeout = 10 }

    [[rule]]
    name = "ced-queue"
    exact = "6"
    queue = { exchange = "CED", priority = 3 }

    [[rule]]
    name = "named-queue"
    exact = "7"
    queue = { name = "directory" }

    [[rule]]
    name = "barred"
    exact = "8"
    reject = { status = 403, reason = "Barred" }

    [[rule]]
    name = "gone"
    exact = "9"
    reject = { status = 410 }

    [[rule]]
    name = "bir-line"
    exact = "10"
    deliver = { line = "5552001" }

    [[rule]]
    name = "ced-line"
    exact = "11"
    deliver = { line = "5553001" }

    [[rule]]
    name = "nowhere"
    exact = "12"
    deliver = { exchange = "XYZ" }
"""


@pytest.mark.parametrize(
    ("dialed", "target"),
    [
        ("1", LineTarget("5551001", "ASH")),
        ("2", ExchangeTarget("ASH")),
        ("3", TrunkTarget(("sip:bir1.example", "sip:bir2.example"), None, "BIR")),
        ("4", QueueTarget("CED", "CED", 0)),
        ("5", TrunkTarget(("sip:a.example", "sips:b.example;transport=tcp"), 10.0)),
        ("6", QueueTarget("CED", "CED", 3)),
        ("7", QueueTarget("directory", None, 0)),
        ("8", RejectTarget(403, "Barred")),
        ("9", RejectTarget(410, "Gone")),
        ("10", TrunkTarget(("sip:bir1.example", "sip:bir2.example"), None, "BIR")),
        ("11", QueueTarget("CED", "CED", 0, "5553001")),
        ("12", RejectTarget(404, "Unknown exchange XYZ")),
        ("13", RejectTarget(404, "No route")),
    ],
)
def test_actions(dialed: str, target: object) -> None:
    decision = route(ACTIONS, dialed, caller=Caller())
    assert decision.target == target
    lines = {"1": "5551001", "10": "5552001", "11": "5553001"}  # deliver = { line = ... }
    assert decision.number == lines.get(dialed, dialed)


def test_target_kinds() -> None:
    kinds = {d: route(ACTIONS, d, caller=Caller()).kind for d in "123578"}
    assert kinds == {
        "1": TargetKind.LINE,
        "2": TargetKind.EXCHANGE,
        "3": TargetKind.TRUNK,
        "5": TargetKind.TRUNK,
        "7": TargetKind.QUEUE,
        "8": TargetKind.REJECT,
    }
    assert TargetKind.EXCHANGE.value == "exchange-local"


def test_lines_known_to_the_directory() -> None:
    directory = Directory(
        DIRECTORY.exchanges(), [LineEntry("5551001", "ASH"), LineEntry("5553001", "CED")]
    )
    text = """
        [[rule]]
        name = "known"
        exact = "1"
        deliver = { line = "5551001" }

        [[rule]]
        name = "unknown"
        exact = "2"
        deliver = { line = "5551999" }
    """
    assert route(text, "1", directory=directory).target == LineTarget("5551001", "ASH")
    assert route(text, "2", directory=directory).target == RejectTarget(404, "No such line")


def test_no_directory_takes_lines_on_trust() -> None:
    text = '[[rule]]\nname = "x"\nexact = "1"\ndeliver = { line = "5551001" }\n'
    assert route(text, "1", directory=Directory()).target == LineTarget("5551001", None)


# -- rewrites -----------------------------------------------------------------------------------


def test_rewrite_then_match_again_from_the_first_rule() -> None:
    text = """
        [[rule]]
        name = "ashford"
        pattern = "_5551XXX"
        deliver = { exchange = "ASH" }

        [[rule]]
        name = "tie-line"
        pattern = "_82XXX"
        rewrite = { strip = 2, prepend = "5551" }
    """
    decision = route(text, "82001")
    assert decision.target == ExchangeTarget("ASH")
    assert decision.number == "5551001"
    assert decision.dialed == "82001"
    assert decision.rule_names == ("tie-line", "ashford")
    [step] = decision.rewrites
    assert (step.rule.name, step.before, step.after) == ("tie-line", "82001", "5551001")


def test_rewrite_order_strip_substitute_prepend() -> None:
    text = """
        [[rule]]
        name = "all"
        pattern = "_9X."
        rewrite = { strip = 1, substitute = ["^0", "55"], prepend = "1" }

        [[rule]]
        name = "done"
        prefix = "1"
        reject = { status = 404 }
    """
    decision = route(text, "90123")
    assert [(s.before, s.after) for s in decision.rewrites] == [("90123", "155123")]


def test_substitute_with_groups() -> None:
    text = """
        [[rule]]
        name = "swap"
        regex = '^7(\\d)(\\d)$'
        rewrite = { substitute = ['^7(\\d)(\\d)$', '555100\\2'] }

        [[rule]]
        name = "line"
        pattern = "_555XXXX"
        deliver = { exchange = "ASH" }
    """
    assert route(text, "712").number == "5551002"


def test_rewrite_loop_is_bounded() -> None:
    text = """
        [settings]
        max_rewrites = 5

        [[rule]]
        name = "ping"
        prefix = "1"
        rewrite = { substitute = ["^1", "2"] }

        [[rule]]
        name = "pong"
        prefix = "2"
        rewrite = { substitute = ["^2", "1"] }
    """
    decision = route(text, "100")
    assert decision.target == RejectTarget(500, "Dialplan rewrite loop")
    assert len(decision.rewrites) == 5
    assert decision.rule_names == ("ping", "pong", "ping", "pong", "ping", "pong")


def test_default_rewrite_bound_is_ten() -> None:
    text = '[[rule]]\nname = "grow"\nprefix = "1"\nrewrite = { prepend = "1" }\n'
    decision = route(text, "1")
    assert decision.target.kind is TargetKind.REJECT
    assert len(decision.rewrites) == 10
    assert decision.number == "1" * 11


def test_rewrite_to_no_route() -> None:
    text = '[[rule]]\nname = "strip"\nprefix = "9"\nrewrite = { strip = 1 }\n'
    decision = route(text, "95")
    assert decision.target == RejectTarget(404, "No route")
    assert decision.number == "5"
    assert decision.rule_names == ("strip",)


# -- normalization ------------------------------------------------------------------------------

NUMBERING = """
    [numbering]
    local_length = 3
    service_numbers = ["911"]
    country_code = "1"
    international_prefix = "011"

    [numbering.CED]
    local_length = 4
    local_prefix = "555"

    [numbering.BIR]
    local_length = 0

    [[rule]]
    name = "any"
    prefix = ""
    reject = { status = 404 }
"""


@pytest.mark.parametrize(
    ("caller", "dialed", "number"),
    [
        (ASH_CALLER, "001", "5551001"),
        (ASH_CALLER, "555-1001", "5551001"),
        (ASH_CALLER, "(555) 100.1", "5551001"),
        (ASH_CALLER, "555 / 1001", "5551001"),
        (ASH_CALLER, "911", "911"),  # a service number is not a local line
        (ASH_CALLER, "0", "0"),
        (ASH_CALLER, "0012", "0012"),
        (ASH_CALLER, "+1 555 100 1001", "5551001001"),
        (ASH_CALLER, "+15551001", "5551001"),
        (ASH_CALLER, "+44 20 7946 0000", "011442079460000"),
        (ASH_CALLER, "*69", "*69"),
        (Caller("5553001", "CED"), "3001", "5553001"),  # CED: 4 digits, prefix 555
        (Caller("5553001", "CED"), "001", "001"),
        (Caller("5552001", "BIR"), "001", "001"),  # BIR: short dialing off
        (Caller(), "001", "001"),  # a caller of no known exchange
    ],
)
def test_normalization(caller: Caller, dialed: str, number: str) -> None:
    assert route(NUMBERING, dialed, caller=caller).number == number


def test_plus_and_the_trunk_prefix() -> None:
    text = NUMBERING.replace('country_code = "1"', 'country_code = "1"\n    trunk_prefix = "1"')
    assert route(text, "+1 212 555 0100").number == "12125550100"
    assert route(text, "+44 20").number == "0114420"


def test_plus_without_international_prefix_is_dropped() -> None:
    text = '[[rule]]\nname = "any"\nprefix = ""\nreject = { status = 404 }\n'
    assert route(text, "+44 20", caller=Caller()).number == "4420"


def test_local_numbers_need_the_numbering_section() -> None:
    text = '[[rule]]\nname = "any"\nprefix = ""\nreject = { status = 404 }\n'
    assert route(text, "001").number == "001"


@pytest.mark.parametrize(
    ("dialed", "target"),
    [
        ("", RejectTarget(484, "Address Incomplete")),
        (" - ", RejectTarget(484, "Address Incomplete")),
        ("alice", RejectTarget(404, "Not a telephone number")),
        ("555a", RejectTarget(404, "Not a telephone number")),
        ("5551²", RejectTarget(404, "Not a telephone number")),
    ],
)
def test_numbers_that_cannot_be_routed(dialed: str, target: RejectTarget) -> None:
    decision = route(NUMBERING, dialed)
    assert decision.target == target
    assert decision.rules == ()


# -- the directory ------------------------------------------------------------------------------


def test_callers_from_the_directory() -> None:
    directory = Directory(DIRECTORY.exchanges(), [LineEntry("5551500", "ASH", "payphone")])
    assert directory.caller("5551500") == Caller("5551500", "ASH", "payphone")
    assert directory.caller("5553001") == Caller("5553001", "CED", None)  # by its prefix
    assert directory.caller("4441234") == Caller("4441234", None, None)
    assert directory.exchange_of_number("55520") == DIRECTORY.exchange("BIR")
    assert not DIRECTORY.knows_lines
    assert directory.knows_lines


def test_directory_uses_lines_by_number_as_given() -> None:
    payphone = LineEntry("5551500", "ASH", "payphone")
    directory = Directory(DIRECTORY.exchanges(), {"5551500": payphone})
    assert directory.line("5551500") is payphone
    assert directory.caller("5551500") == Caller("5551500", "ASH", "payphone")
    assert directory.line("5551501") is None and directory.knows_lines


def test_decision_accessors() -> None:
    decision = route(
        '[[rule]]\nname = "x"\nexact = "5551001"\ndeliver = { exchange = "ASH" }\n', "5551001"
    )
    assert decision.rule is not None and decision.rule.name == "x"
    assert decision.rule_names == ("x",)
    assert decision.describe() == 'exchange ASH, served here, number 5551001 by rule "x"'
    assert route("", "001").rule is None
