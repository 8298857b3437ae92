"""The dialplan file format: merging files, settings, numbering, where things were written,
and the diff of two dialplans."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from softswitch.routing import (
    Deliver,
    Dialplan,
    DialplanError,
    DialplanSource,
    Origin,
    PatternKind,
    Queue,
    Reject,
    Rewrite,
    Trunk,
    diff_dialplans,
    load_dialplan,
    read_sources,
)
from softswitch.routing.keylines import KeyLines


def load(**files: str) -> Dialplan:
    return load_dialplan(
        {
            f"dialplans/{name.replace('_', '-')}.toml": textwrap.dedent(text)
            for name, text in files.items()
        }
    )


def rule(
    name: str, pattern: str = 'prefix = "1"', action: str = "reject = { status = 404 }"
) -> str:
    return f'\n[[rule]]\nname = "{name}"\n{pattern}\n{action}\n'


def test_files_are_merged_in_the_order_of_their_names() -> None:
    plan = load(
        **{
            "30_c": rule("c1") + rule("c2"),
            "00_network": rule("n1"),
            "10_a": rule("a1"),
        }
    )
    assert [r.name for r in plan.rules] == ["n1", "a1", "c1", "c2"]
    assert [r.index for r in plan.rules] == [0, 1, 2, 3]
    assert plan.files == ("dialplans/00-network.toml", "dialplans/10-a.toml", "dialplans/30-c.toml")
    assert plan.rules[3].origin == Origin("dialplans/30-c.toml", 7)


def test_order_does_not_depend_on_folders() -> None:
    plan = load_dialplan(
        [
            DialplanSource("b/00-first.toml", rule("first")),
            DialplanSource("a/10-second.toml", rule("second")),
        ]
    )
    assert [r.name for r in plan.rules] == ["first", "second"]


def test_settings_and_numbering_from_several_files() -> None:
    plan = load(
        **{
            "00_network": """
                [settings]
                timezone = "Europe/London"

                [numbering]
                local_length = 3
                service_numbers = ["999"]
                international_prefix = "00"
                country_code = "44"
                trunk_prefix = "0"
            """,
            "10_ash": """
                [numbering.ASH]
                local_prefix = "5551"
            """,
            "20_ced": """
                [numbering.CED]
                local_length = 4
            """,
        }
    )
    assert plan.settings.timezone == "Europe/London"
    assert plan.settings.max_rewrites == 10
    numbering = plan.numbering
    assert (numbering.local_length, numbering.service_numbers) == (3, frozenset({"999"}))
    assert numbering.local_rule("ASH") == (3, "5551")
    assert numbering.local_rule("CED") == (4, None)
    assert numbering.local_rule("BIR") == (3, None)
    assert plan.origins["numbering.CED.local_length"] == Origin("dialplans/20-ced.toml", 3)
    assert plan.setting_values() == {
        "settings.timezone": "Europe/London",
        "settings.max_rewrites": "10",
        "numbering.local_length": "3",
        "numbering.international_prefix": "00",
        "numbering.country_code": "44",
        "numbering.trunk_prefix": "0",
        "numbering.service_numbers": "999",
        "numbering.ASH.local_prefix": "5551",
        "numbering.CED.local_length": "4",
    }


def test_a_setting_may_be_given_once() -> None:
    with pytest.raises(DialplanError) as caught:
        load(
            a="[numbering.ASH]\nlocal_length = 3\n",
            b="\n[numbering]\nlocal_length = 3\n[numbering.ASH]\nlocal_length = 4\n",
        )
    assert [str(d) for d in caught.value.diagnostics] == [
        "dialplans/b.toml:4: [numbering.ASH] is already given at dialplans/a.toml:1"
    ]


def test_rules_as_plain_values() -> None:
    plan = load(
        network="""
            [[rule]]
            name = "line"
            exact = "5551001"
            deliver = { line = "5551001" }

            [[rule]]
            name = "carrier"
            pattern = "_1NXXNXXXXXX"
            caller_exchange = "ASH"
            time = ["00:00-07:00", "19:00-24:00"]
            days = "sat-sun"
            caller_class = ["payphone", "business"]
            trunk = { uris = ["sip:a.example"], timeout = 12.5 }

            [[rule]]
            name = "queue"
            regex = '^0(\\d+)$'
            queue = { exchange = "CED", priority = 5 }

            [[rule]]
            name = "rewrite"
            prefix = "9"
            rewrite = { strip = 1, prepend = "555", substitute = ["^0", "5551"] }

            [[rule]]
            name = "reject"
            pattern = "*"
            reject = { status = 603, reason = "Declined by the exchange" }
        """
    )
    line, carrier, queue, rewrite, reject = plan.rules
    assert line.action == Deliver(line="5551001")
    assert carrier.pattern.kind is PatternKind.ASTERISK
    assert carrier.pattern.literal == "1"
    assert carrier.action == Trunk(("sip:a.example",), 12.5)
    assert carrier.conditions is not None
    assert carrier.conditions.describe() == (
        "time 00:00-07:00,19:00-24:00, days sat,sun, caller_exchange ASH, "
        "caller_class business,payphone"
    )
    assert queue.pattern.kind is PatternKind.REGEX
    assert (queue.pattern.literal, queue.pattern.indexed) == ("0", True)
    assert queue.action == Queue("CED", "CED", 5)
    assert isinstance(rewrite.action, Rewrite)
    assert rewrite.action.apply("90123") == "5555551123"
    assert rewrite.describe() == (
        'prefix 9*: rewrite: strip 1, substitute "^0" -> "5551", prepend 555'
    )
    assert reject.action == Reject(603, "Declined by the exchange")
    assert reject.pattern.kind is PatternKind.PREFIX
    assert reject.pattern.literal == ""
    assert plan.origin_of(carrier, "trunk") == Origin("dialplans/network.toml", 14)
    assert plan.rule("queue") is queue
    assert plan.rule("nothing") is None


@pytest.mark.parametrize(
    ("regex", "literal"),
    [
        ("^5551", "5551"),
        ("\\A55", "55"),
        ("^555?1", "55"),
        ("^55{2}", "5"),
        ("^55*", "5"),
        ("^55+", "5"),
        ("^\\*69", "*69"),
        ("^#1", "#1"),
        ("^5\\d", "5"),
        ("^5[12]", "5"),
        ("^(55)", ""),
        ("^55|66", None),
        ("^5[|]5", "5"),
        ("^5(1|2)|^6", None),
        ("55", None),
        ("(?i)^55", None),
    ],
)
def test_regex_literal_prefixes(regex: str, literal: str | None) -> None:
    plan = load(a=f"[[rule]]\nname = \"r\"\nregex = '{regex}'\nreject = {{ status = 404 }}\n")
    pattern = plan.rules[0].pattern
    assert pattern.indexed is (literal is not None)
    if literal is not None:
        assert pattern.literal == literal


def test_read_sources(tmp_path: Path) -> None:
    (tmp_path / "20-b.toml").write_text(rule("b"), encoding="utf-8")
    (tmp_path / "10-a.toml").write_text(rule("a"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a dialplan", encoding="utf-8")
    sources = read_sources([tmp_path])
    assert [Path(s.name).name for s in sources] == ["10-a.toml", "20-b.toml"]
    single = read_sources([tmp_path / "20-b.toml"])
    assert [s.name for s in single] == [str(tmp_path / "20-b.toml")]


def test_read_sources_rejects_other_encodings(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_bytes(b'# Caf\xe9\n\n[[rule]]\nname = "x"\n')
    with pytest.raises(DialplanError) as caught:
        read_sources([path])
    assert str(caught.value) == f"{path}:1: the file is not UTF-8 text"


def test_key_lines() -> None:
    lines = KeyLines(
        textwrap.dedent(
            '''\
            # comment
            [settings]
            timezone = "UTC"   # [[rule]] in a comment
            text = """
            [[rule]]
            name = "inside a string"
            """

            [[rule]]
            name = "a"
            trunk.uris = [
              "sip:a",
            ]
            "quoted key" = 1

            [rule.reject]
            status = 404

            [[rule]]
            name = 'b'
            deliver = { line = "1" }
            '''
        )
    )
    assert lines.line(("settings",)) == 2
    assert lines.line(("settings", "timezone")) == 3
    assert lines.line(("rule",)) == 9
    assert lines.line(("rule", 0)) == 9
    assert lines.line(("rule", 0, "name")) == 10
    assert lines.line(("rule", 0, "trunk", "uris", 0)) == 11
    assert lines.line(("rule", 0, "quoted key")) == 14
    assert lines.line(("rule", 0, "reject")) == 16
    assert lines.line(("rule", 0, "reject", "status")) == 17
    assert lines.line(("rule", 1)) == 19
    assert lines.line(("rule", 1, "deliver", "line")) == 21
    assert lines.line(("nothing",)) == 1


# -- diff ---------------------------------------------------------------------------------------

OLD = """
    [settings]
    timezone = "America/Chicago"

    [numbering]
    local_length = 3
    country_code = "1"

    [[rule]]
    name = "emergency"
    exact = "911"
    queue = { exchange = "ASH", priority = 9 }

    [[rule]]
    name = "premium"
    pattern = "_1900."
    reject = { status = 403 }

    [[rule]]
    name = "night"
    exact = "5551300"
    time = "18:00-08:00"
    deliver = { line = "5551301" }

    [[rule]]
    name = "ashford"
    pattern = "_5551XXX"
    deliver = { exchange = "ASH" }

    [[rule]]
    name = "old"
    prefix = "82"
    rewrite = { strip = 2 }
"""

NEW = """
    [settings]
    timezone = "America/Chicago"
    max_rewrites = 5

    [numbering]
    local_length = 4
    international_prefix = "011"

    [[rule]]
    name = "premium"
    pattern = "_1900."
    reject = { status = 403, reason = "Barred" }

    [[rule]]
    name = "emergency"
    exact = "911"
    queue = { exchange = "ASH", priority = 9 }

    [[rule]]
    name = "night"
    exact = "5551300"
    time = "19:00-08:00"
    deliver = { line = "5551301" }

    [[rule]]
    name = "weekend"
    exact = "5551300"
    days = ["sat", "sun"]
    deliver = { line = "5551301" }

    [[rule]]
    name = "ashford"
    prefix = "5551"
    deliver = { exchange = "ASH" }
"""


def test_diff() -> None:
    old = load(network=OLD)
    new = load(network=NEW)
    diff = diff_dialplans(old, new)
    assert [r.name for r in diff.added] == ["weekend"]
    assert [r.name for r in diff.removed] == ["old"]
    assert [c.name for c in diff.changed] == ["premium", "night", "ashford"]
    assert [(m.name, m.old_position, m.new_position) for m in diff.moved] == [("premium", 2, 1)]
    assert diff.render() == textwrap.dedent(
        """\
        Settings:
          - numbering.country_code (was 1)
          + numbering.international_prefix = 011
          ~ numbering.local_length: 3 -> 4
          ~ settings.max_rewrites: 10 -> 5
        Rules:
          + weekend (position 4, dialplans/network.toml:26): {WEEKEND}
          - old (was position 5): prefix 82*: rewrite: strip 2
          ~ premium (dialplans/network.toml:10):
              action: reject 403 Forbidden -> reject 403 Barred
          ~ night (dialplans/network.toml:20):
              conditions: time 18:00-08:00 -> time 19:00-08:00
          ~ ashford (dialplans/network.toml:32):
              pattern: pattern _5551XXX -> prefix 5551*
          > premium moved: position 2 -> 1"""
    ).format(WEEKEND="number 5551300 if days sat,sun: deliver to line 5551301")


def test_diff_of_equal_plans_and_of_rules_moved_to_another_file() -> None:
    plan = load(**{"00_network": OLD})
    assert not diff_dialplans(plan, load(**{"00_network": OLD}))
    assert diff_dialplans(plan, load(**{"00_network": OLD})).render() == "No changes."
    assert diff_dialplans(Dialplan(), Dialplan()).render() == "No changes."
    network, ashford = OLD.split('[[rule]]\n    name = "ashford"')
    split = load(
        **{"00_network": network, "10_ashford": '[[rule]]\n    name = "ashford"' + ashford}
    )
    assert split.rule("ashford").origin.file == "dialplans/10-ashford.toml"
    assert not diff_dialplans(plan, split)


def test_diff_from_nothing() -> None:
    diff = diff_dialplans(Dialplan(), load(network=OLD))
    assert len(diff.added) == 5
    assert "+ settings.timezone = America/Chicago" not in diff.render()  # UTC -> Chicago
    assert "~ settings.timezone: UTC -> America/Chicago" in diff.render()
