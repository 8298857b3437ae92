"""The example network in dialplans/: it loads cleanly, routes as its comments say, and its
explanations read as documented and agree with route()."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from softswitch.routing import (
    Caller,
    DialplanSource,
    Directory,
    ExchangeEntry,
    ExchangeTarget,
    LineEntry,
    LineTarget,
    QueueTarget,
    RejectTarget,
    Router,
    TrunkTarget,
    check_dialplan,
    load_dialplan,
    read_sources,
)

DIALPLANS = Path(__file__).resolve().parents[2] / "dialplans"
CARRIER = ("sip:ld1.carrier.example", "sip:ld2.carrier.example")
BIRCHWOOD = TrunkTarget(("sip:birchwood.county.example",), None, "BIR")

DIRECTORY = Directory(
    [
        ExchangeEntry("ASH", "5551"),
        ExchangeEntry("BIR", "5552", trunk_uris=("sip:birchwood.county.example",)),
        ExchangeEntry("CED", "5553", mode="manual"),
    ],
    [
        LineEntry("5551001", "ASH"),
        LineEntry("5551234", "ASH"),
        LineEntry("5551300", "ASH", "business"),
        LineEntry("5551301", "ASH"),
        LineEntry("5551500", "ASH", "payphone"),
        LineEntry("5552001", "BIR"),
        LineEntry("5553001", "CED"),
        LineEntry("5553123", "CED"),
    ],
)
MONDAY_EVENING = datetime(2024, 5, 6, 21, 14)
MONDAY_MORNING = datetime(2024, 5, 6, 10, 0)
SATURDAY_NOON = datetime(2024, 5, 11, 12, 0)
LATE_NIGHT = datetime(2024, 5, 6, 23, 0)


@pytest.fixture(scope="module")
def router() -> Router:
    sources = [
        DialplanSource(f"dialplans/{path.name}", path.read_text(encoding="utf-8"))
        for path in sorted(DIALPLANS.glob("*.toml"))
    ]
    return Router(load_dialplan(sources), DIRECTORY)


def test_example_network_has_no_problems(router: Router) -> None:
    assert check_dialplan(router.plan, DIRECTORY) == []
    assert [f.removeprefix("dialplans/") for f in router.plan.files] == [
        "00-network.toml",
        "10-ashford.toml",
        "20-birchwood.toml",
        "30-cedar-falls.toml",
    ]


def test_example_network_reads_from_disk() -> None:
    plan = load_dialplan(read_sources([DIALPLANS]))
    assert len(plan.rules) == 17
    assert plan.settings.timezone == "America/Chicago"


@pytest.mark.parametrize(
    ("caller", "dialed", "now", "target", "number"),
    [
        ("5551234", "001", MONDAY_MORNING, ExchangeTarget("ASH"), "5551001"),
        ("5551234", "555-1001", MONDAY_MORNING, ExchangeTarget("ASH"), "5551001"),
        ("5551234", "911", MONDAY_MORNING, QueueTarget("ASH", "ASH", 9), "911"),
        ("5553001", "911", LATE_NIGHT, QueueTarget("ASH", "ASH", 9), "911"),
        ("5551234", "411", MONDAY_MORNING, QueueTarget("directory"), "411"),
        ("5551234", "0", MONDAY_MORNING, QueueTarget("ASH", "ASH"), "0"),
        ("5553001", "0", MONDAY_MORNING, QueueTarget("CED", "CED"), "0"),
        ("5551234", "5551300", MONDAY_MORNING, ExchangeTarget("ASH"), "5551300"),
        ("5551234", "300", MONDAY_EVENING, LineTarget("5551301", "ASH"), "5551301"),
        ("5551234", "5551300", SATURDAY_NOON, LineTarget("5551301", "ASH"), "5551301"),
        ("5551234", "5552001", MONDAY_MORNING, BIRCHWOOD, "5552001"),
        ("5551234", "82001", MONDAY_MORNING, BIRCHWOOD, "5552001"),
        ("5551234", "95552001", MONDAY_MORNING, BIRCHWOOD, "5552001"),
        ("5553001", "123", MONDAY_MORNING, QueueTarget("CED", "CED"), "5553123"),
        ("5551234", "4123", MONDAY_MORNING, QueueTarget("CED", "CED"), "5553123"),
        ("5551234", "5553123", LATE_NIGHT, QueueTarget("ASH", "ASH"), "5553123"),
        (
            "5551234",
            "19005551234",
            MONDAY_MORNING,
            RejectTarget(403, "Premium-rate numbers are barred"),
            "19005551234",
        ),
        ("5551234", "12125550100", MONDAY_MORNING, TrunkTarget(CARRIER, 15.0), "12125550100"),
        ("5551234", "+1 212 555 0100", MONDAY_MORNING, TrunkTarget(CARRIER, 15.0), "12125550100"),
        (
            "5551234",
            "+44 20 7946 0000",
            MONDAY_MORNING,
            TrunkTarget(CARRIER, 30.0),
            "011442079460000",
        ),
        (
            "5551500",
            "12125550100",
            MONDAY_MORNING,
            RejectTarget(403, "Long distance is not available from this payphone"),
            "12125550100",
        ),
        ("5551234", "5559999", MONDAY_MORNING, RejectTarget(404, "No route"), "5559999"),
    ],
)
def test_example_network_routes(
    router: Router, caller: str, dialed: str, now: datetime, target: object, number: str
) -> None:
    who = DIRECTORY.caller(caller)
    decision = router.route(who, dialed, now)
    assert (decision.target, decision.number) == (target, number)
    assert router.explain(who, dialed, now).decision == decision


def test_explain_short_local_number(router: Router) -> None:
    text = router.explain(DIRECTORY.caller("5551234"), "001", MONDAY_EVENING).render()
    assert text == (
        'Call from 5551234 (exchange ASH, class residential) to "001"\n'
        "Time: Mon 2024-05-06 21:14 (America/Chicago)\n"
        "Number: 001 -> 5551001\n"
        "  short local number of ASH: 5551 put in front: 5551001\n"
        "Pass 1 with 5551001 (the index leaves 1 of 17 rules to test)\n"
        "  match ashford  dialplans/10-ashford.toml:35  deliver to exchange ASH\n"
        "  (10 other rules tried: pattern did not match)\n"
        'Result: exchange ASH, served here, number 5551001 by rule "ashford"'
    )


def test_explain_night_service_and_rewrite(router: Router) -> None:
    text = router.explain(DIRECTORY.caller("5551234"), "4123", LATE_NIGHT).render()
    assert text == (
        'Call from 5551234 (exchange ASH, class residential) to "4123"\n'
        "Time: Mon 2024-05-06 23:00 (America/Chicago)\n"
        "Number: 4123\n"
        "Pass 1 with 4123 (the index leaves 1 of 17 rules to test)\n"
        "  match cedar-falls-old-numbers  dialplans/30-cedar-falls.toml:14  "
        'rewrite: substitute "^4" -> "5553"\n'
        "  (14 other rules tried: pattern did not match)\n"
        '  rewrite 4123 -> 5553123 (rule "cedar-falls-old-numbers": substitute "^4" -> "5553")\n'
        "Pass 2 with 5553123 (the index leaves 2 of 17 rules to test)\n"
        "  match cedar-falls-night-service  dialplans/30-cedar-falls.toml:21  "
        "exchange ASH's operator queue, priority 0\n"
        "  (15 other rules tried: pattern did not match)\n"
        "Result: operator queue of ASH, priority 0, number 5553123 by rule "
        '"cedar-falls-night-service"'
    )


def test_explain_names_the_false_condition(router: Router) -> None:
    day = router.explain(DIRECTORY.caller("5551234"), "5551300", MONDAY_MORNING).render()
    assert (
        "  skip  surgery-night-service    dialplans/10-ashford.toml:23  condition false: "
        "time = 18:00-08:00 (it is 10:00)\n"
        "  skip  surgery-weekend-service  dialplans/10-ashford.toml:29  condition false: "
        "days = sat,sun (today is mon)\n"
        "  match ashford                  dialplans/10-ashford.toml:35  deliver to exchange ASH"
    ) in day
    operator = router.explain(DIRECTORY.caller("5553001"), "0", MONDAY_MORNING).render()
    assert "condition false: caller_exchange = ASH (the caller's exchange is CED)" in operator
    payphone = router.explain(DIRECTORY.caller("5551234"), "12125550100", MONDAY_MORNING)
    assert "caller_class = payphone (the caller's class is residential)" in payphone.render()


def test_explain_no_route_and_verbose(router: Router) -> None:
    explanation = router.explain(Caller(), "5559999", MONDAY_MORNING)
    assert explanation.render().endswith(
        "Pass 1 with 5559999 (the index leaves 0 of 17 rules to test)\n"
        "  (17 other rules tried: pattern did not match)\n"
        "Result: reject 404 No route, number 5559999"
    )
    verbose = explanation.render(verbose=True)
    assert "  skip  emergency" in verbose
    assert "number 911 does not match" in verbose
    assert "pattern _5551XXX does not match" in verbose
    assert len(explanation.passes[0].attempts) == 17


def test_explain_unroutable_number(router: Router) -> None:
    text = router.explain(Caller(), "alice", MONDAY_MORNING).render()
    assert text.endswith("Number: alice\nResult: reject 404 Not a telephone number, number alice")
