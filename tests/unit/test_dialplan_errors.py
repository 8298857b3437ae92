"""Mistakes in dialplan files: each reported as `file:line: reason`, all of them at once."""

from __future__ import annotations

import textwrap

import pytest

from softswitch.routing import (
    Diagnostic,
    DialplanError,
    Directory,
    ExchangeEntry,
    LineEntry,
    Severity,
    check_dialplan,
    load_dialplan,
)

FILE = "dialplans/network.toml"


def errors(text: str, name: str = FILE) -> list[str]:
    with pytest.raises(DialplanError) as caught:
        load_dialplan({name: textwrap.dedent(text).lstrip("\n")})
    assert str(caught.value) == "\n".join(str(d) for d in caught.value.diagnostics)
    return [str(d) for d in caught.value.diagnostics]


def the_error(text: str) -> str:
    [error] = errors(text)
    return error


GOOD_RULE = """
    [[rule]]
    name = "ashford"
    pattern = "_5551XXX"
    deliver = { exchange = "ASH" }
"""


def test_unknown_action() -> None:
    text = (
        GOOD_RULE
        + """
        [[rule]]
        name = "night-service"
        exact = "5551300"
        time = "18:00-08:00"
        deliverr = { line = "5551301" }
    """
    )
    assert the_error(text) == (
        f'{FILE}:10: rule "night-service": unknown action "deliverr" (did you mean "deliver"?)'
    )


def test_unknown_table_is_an_unknown_action() -> None:
    text = '[[rule]]\nname = "x"\nexact = "1"\nforward = { line = "1" }\n'
    assert the_error(text) == (
        f'{FILE}:4: rule "x": unknown action "forward" '
        "(actions: deliver, trunk, queue, rewrite, reject)"
    )


def test_unknown_key() -> None:
    text = '[[rule]]\nname = "x"\npatern = "1"\nreject = { status = 404 }\n'
    assert the_error(text) == f'{FILE}:3: rule "x": unknown key "patern" (did you mean "pattern"?)'


def test_toml_syntax_error() -> None:
    text = '[[rule]]\nname = "x"\nexact = "5551001\nreject = { status = 404 }\n'
    error = the_error(text)
    assert error.startswith(f"{FILE}:3: TOML syntax error: ")
    assert "(column" in error


def test_toml_syntax_error_at_end_of_document() -> None:
    error = the_error('[[rule]]\nname = "x"\nexact = ')
    assert error.startswith(f"{FILE}:3: TOML syntax error: ")


def test_duplicate_key_is_a_toml_error() -> None:
    text = '[[rule]]\nname = "x"\nexact = "1"\nexact = "2"\nreject = { status = 404 }\n'
    assert the_error(text).startswith(f"{FILE}:4: TOML syntax error: ")


def test_invalid_regex() -> None:
    text = (
        GOOD_RULE
        + """
        [[rule]]
        name = "broken"
        regex = '^9(\\d{7}$'
        rewrite = { strip = 1 }
    """
    )
    error = the_error(text)
    assert error.startswith(f'{FILE}:8: rule "broken": invalid regex "^9(\\d{{7}}$": ')
    assert "missing ), unterminated subpattern" in error


@pytest.mark.parametrize("status", [200, 302, 700, 99])
def test_reject_status_must_be_an_error(status: int) -> None:
    text = f'[[rule]]\nname = "x"\nexact = "1"\n\nreject = {{ status = {status} }}\n'
    assert the_error(text) == (
        f'{FILE}:5: rule "x": status {status} is not an error status: reject with 400 to 699'
    )


def test_status_in_quotes() -> None:
    text = '[[rule]]\nname = "x"\nexact = "1"\nreject = { status = "403" }\n'
    assert the_error(text) == (
        f'{FILE}:4: rule "x": status must be a whole number without quotes, e.g. status = 403'
    )


def test_number_without_quotes() -> None:
    text = '[[rule]]\nname = "x"\nexact = 5551001\nreject = { status = 404 }\n'
    assert the_error(text) == (
        f'{FILE}:3: rule "x": exact must be a string in quotes, e.g. exact = "5551001"'
    )


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ('"_55[3"', '"[" without a closing "]"'),
        ('"_5.5"', '"." may only be the last character'),
        ('"_55Y"', 'unexpected "Y"'),
        ('"_5[9-1]"', 'bad range "9-1"'),
        ('"5551-001"', "is not a number"),
        ('""', "pattern is empty"),
    ],
)
def test_bad_patterns(pattern: str, reason: str) -> None:
    text = f'[[rule]]\nname = "x"\n# a comment\npattern = {pattern}\nreject = {{ status = 404 }}\n'
    error = the_error(text)
    assert error.startswith(f'{FILE}:4: rule "x": ')
    assert reason in error


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ('time = "25:00-08:00"', '"25:00" is not a time of day'),
        ('time = "8-18"', 'is not a time like "08:30"'),
        ('time = "0800"', 'must read "HH:MM-HH:MM"'),
        ('time = "08:00-08:00"', "is empty"),
        ('days = "funday"', '"funday" is not a day'),
        ("days = []", "empty list"),
        ("caller_exchange = 3", "must be a string or a list of strings"),
    ],
)
def test_bad_conditions(condition: str, reason: str) -> None:
    text = f'[[rule]]\nname = "x"\nexact = "1"\n{condition}\nreject = {{ status = 404 }}\n'
    error = the_error(text)
    assert error.startswith(f'{FILE}:4: rule "x": ')
    assert reason in error


def test_two_actions() -> None:
    text = (
        '[[rule]]\nname = "x"\nexact = "1"\nqueue = { exchange = "CED" }\n'
        "reject = { status = 403 }\n"
    )
    assert the_error(text) == (
        f'{FILE}:5: rule "x": more than one action (queue, reject); a rule has exactly one'
    )


def test_no_action_and_no_pattern() -> None:
    assert errors('[[rule]]\nname = "x"\n') == [
        f'{FILE}:1: rule "x": no pattern (give one of pattern, exact, prefix, regex)',
        f'{FILE}:1: rule "x": no action (give one of deliver, trunk, queue, rewrite, reject)',
    ]


def test_two_patterns() -> None:
    text = '[[rule]]\nname = "x"\nexact = "1"\nprefix = "1"\nreject = { status = 404 }\n'
    assert the_error(text) == (
        f'{FILE}:4: rule "x": more than one pattern (exact, prefix); a rule has exactly one'
    )


def test_missing_name() -> None:
    text = GOOD_RULE + '\n[[rule]]\nexact = "1"\nreject = { status = 404 }\n'
    assert the_error(text) == f'{FILE}:6: rule #2: missing key "name"'


def test_bad_name() -> None:
    text = '[[rule]]\nname = "night service"\nexact = "1"\nreject = { status = 404 }\n'
    assert "may hold only letters, digits" in the_error(text)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (
            'deliver = { line = "5551001", exchange = "ASH" }',
            'deliver: needs one of line = "5551001"',
        ),
        ("deliver = { }", 'deliver: needs one of line = "5551001"'),
        ('deliver = { line = "55x" }', 'deliver.line: "55x" is not a number of 1 to 15 digits'),
        ('deliver = { exchange = "ash" }', 'deliver.exchange: "ash" is not an exchange code'),
        ('deliver = { lines = "1" }', 'unknown key "deliver.lines" (did you mean "line"?)'),
        ('deliver = "5551001"', "deliver must be a table, e.g. deliver = { line = "),
        ("trunk = { uris = [] }", "trunk.uris: list should have at least 1 item"),
        ('trunk = { uris = "sip:a" }', "trunk.uris: must be a list"),
        (
            'trunk = { uris = ["sip:a", "http://b"] }',
            'trunk.uris item 2: "http://b" is not a SIP URI',
        ),
        (
            'trunk = { uris = ["sip:a"], timeout = 0 }',
            "trunk.timeout: input should be greater than 0",
        ),
        ('queue = { exchange = "CED", name = "x" }', "queue: needs one of exchange"),
        ('queue = { name = "q", priority = 10 }', "queue.priority: input should be less than"),
        ("rewrite = { }", "rewrite: needs at least one of strip, prepend, substitute"),
        ("rewrite = { strip = -1 }", "rewrite.strip: input should be greater than or equal to 0"),
        ('rewrite = { prepend = "5a" }', 'rewrite.prepend: "5a" may hold only digits'),
        ('rewrite = { substitute = ["^0"] }', "substitute must be a list of two strings"),
        ('rewrite = { substitute = ["^0(", "1"] }', 'invalid regex "^0(" in substitute'),
        ('rewrite = { substitute = ["^0", "\\\\1"] }', "refers to group 1"),
        ('rewrite = { substitute = ["^0", "x"] }', 'replacement "x" may hold only digits'),
        ('reject = { status = 403, reason = "" }', "reason must be one line"),
        ('reject = { reason = "x" }', 'missing key "reject.status"'),
    ],
)
def test_bad_actions(action: str, reason: str) -> None:
    text = f'[[rule]]\nname = "x"\nexact = "1"\n{action}\n'
    error = the_error(text)
    assert error.startswith(f'{FILE}:4: rule "x": ')
    assert reason in error


def test_error_inside_a_multi_line_array_and_a_sub_table() -> None:
    text = """
        [[rule]]
        name = "carrier"
        prefix = "1"
        trunk.timeout = 10
        trunk.uris = [
            "sip:a.example",
            "mailto:b",
        ]

        [[rule]]
        name = "x"
        exact = "2"

        [rule.reject]
        reason = "Gone"
        status = 700
    """
    assert errors(text) == [
        f'{FILE}:5: rule "carrier": trunk.uris item 2: "mailto:b" is not a SIP URI like '
        '"sip:gateway.example.net"',
        f'{FILE}:16: rule "x": status 700 is not an error status: reject with 400 to 699',
    ]


def test_multi_line_strings_do_not_confuse_line_numbers() -> None:
    text = '''
        [[rule]]
        name = "a"
        exact = "1"
        reject = { status = 403, reason = """x"""}
        # [[rule]] in a comment
        [[rule]]
        name = "b"
        regex = \'\'\'^1(\'\'\'
        reject = { status = 404 }
    '''
    assert errors(text)[0].startswith(f'{FILE}:8: rule "b": invalid regex')


def test_settings_and_numbering_errors() -> None:
    text = """
        [settings]
        timezone = "Mars/Olympus"
        max_rewrites = 0

        [numbering]
        local_length = "3"
        country = "1"

        [numbering.ash]
        local_length = 3

        [numbering.CED]
        local_prefix = "55-3"
    """
    assert errors(text) == [
        f'{FILE}:2: settings: timezone: unknown time zone "Mars/Olympus" '
        '(use a name like "America/Chicago")',
        f"{FILE}:3: settings: max_rewrites: input should be greater than or equal to 1",
        f"{FILE}:6: numbering: local_length: must be a whole number without quotes",
        f'{FILE}:7: numbering: unknown key "country" (did you mean "country_code"?)',
        f'{FILE}:9: numbering: "ash" is not an exchange code (codes are upper case, "ASH")',
        f'{FILE}:13: numbering.CED: local_prefix: "55-3" is not a number of 1 to 15 digits',
    ]


def test_exchanges_are_not_defined_in_dialplans() -> None:
    text = '[[exchange]]\ncode = "ASH"\n'
    assert the_error(text) == (
        f"{FILE}:1: exchanges and lines are kept in the database, not in dialplan files "
        '(add them with "softswitch exchange add" and "softswitch line add")'
    )


def test_unknown_section_and_single_bracket_rule() -> None:
    assert errors('[rules]\nx = 1\n\n[rule]\nname = "x"\n') == [
        f'{FILE}:1: unknown section "rules" (did you mean "rule"?)',
        f"{FILE}:4: write each rule as a [[rule]] table (two brackets)",
    ]


def test_every_error_of_every_file_is_reported() -> None:
    with pytest.raises(DialplanError) as caught:
        load_dialplan(
            {
                "dialplans/20-b.toml": (
                    '[[rule]]\nname = "dup"\nexact = "1"\nreject = { status = 404 }\n'
                ),
                "dialplans/10-a.toml": (
                    '[settings]\ntimezone = "UTC"\n\n[[rule]]\nname = "dup"\n'
                    'exact = "2"\nreject = { status = 404 }\n'
                ),
                "dialplans/30-c.toml": '[settings]\ntimezone = "UTC"\n\n[[rule]]\nname = "bad"\n',
            }
        )
    assert [str(d) for d in caught.value.diagnostics] == [
        'dialplans/20-b.toml:2: rule "dup": the name is already used at dialplans/10-a.toml:4',
        "dialplans/30-c.toml:2: settings.timezone is already set at dialplans/10-a.toml:2",
        'dialplans/30-c.toml:4: rule "bad": no pattern (give one of pattern, exact, prefix, regex)',
        'dialplans/30-c.toml:4: rule "bad": no action (give one of deliver, trunk, queue, rewrite, '
        "reject)",
    ]


# -- checks of a whole plan ---------------------------------------------------------------------


def check(text: str, directory: Directory | None = None) -> list[Diagnostic]:
    plan = load_dialplan({FILE: textwrap.dedent(text).lstrip("\n")})
    return check_dialplan(plan, directory)


def test_shadowed_rules_are_warnings() -> None:
    found = check(
        """
        [[rule]]
        name = "bir"
        pattern = "5552*"
        deliver = { exchange = "BIR" }

        [[rule]]
        name = "bir-again"
        prefix = "5552"
        reject = { status = 403 }

        [[rule]]
        name = "bir-line"
        exact = "5552001"
        deliver = { line = "5552001" }

        [[rule]]
        name = "bir-night"
        exact = "5552002"
        time = "18:00-08:00"
        deliver = { line = "5552001" }

        [[rule]]
        name = "special"
        exact = "5559000"
        reject = { status = 403 }

        [[rule]]
        name = "block"
        pattern = "_5559XXX"
        reject = { status = 404 }

        [[rule]]
        name = "special-again"
        exact = "5559000"
        reject = { status = 410 }
        """
    )
    assert all(d.severity is Severity.WARNING for d in found)
    assert [str(d) for d in found] == [
        f'{FILE}:6: warning: rule "bir-again" is never used: rule "bir" ({FILE}:1) has the same '
        "pattern and has no conditions",
        f'{FILE}:11: warning: rule "bir-line" is never used: rule "bir" ({FILE}:1) matches every '
        "number starting with 5552 and has no conditions",
        f'{FILE}:16: warning: rule "bir-night" is never used: rule "bir" ({FILE}:1) matches every '
        "number starting with 5552 and has no conditions",
        f'{FILE}:32: warning: rule "special-again" is never used: rule "special" ({FILE}:22) has '
        "the same pattern and has no conditions",
    ]


def test_conditional_rules_do_not_shadow() -> None:
    found = check(
        """
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
    )
    assert found == []


def test_rewrite_loops() -> None:
    found = check(
        """
        [[rule]]
        name = "ping"
        prefix = "1"
        rewrite = { substitute = ["^1", "2"] }

        [[rule]]
        name = "pong"
        prefix = "2"
        rewrite = { substitute = ["^2", "1"] }

        [[rule]]
        name = "grow"
        pattern = "_3."
        rewrite = { prepend = "3" }

        [[rule]]
        name = "maybe"
        exact = "4"
        time = "18:00-08:00"
        rewrite = { prepend = "4" }

        [[rule]]
        name = "maybe-back"
        exact = "44"
        rewrite = { strip = 1 }

        [[rule]]
        name = "fine"
        pattern = "_82XXX"
        rewrite = { strip = 2, prepend = "5552" }
        """
    )
    assert [str(d) for d in found] == [
        f'{FILE}:1: rewrite loop: "ping" -> "pong" (1000000 -> 2000000 -> 1000000)',
        f'{FILE}:11: more than max_rewrites = 10 rewrites in a row: "grow" -> "grow" -> "grow" -> '
        '"grow" (3000000 -> 33000000 -> 333000000 -> 3333000000 ...)',
        f'{FILE}:16: warning: rewrite loop: "maybe" -> "maybe-back" (4 -> 44 -> 4) when the '
        "conditions of these rules hold together",
    ]
    assert [d.severity for d in found] == [Severity.ERROR, Severity.ERROR, Severity.WARNING]


def test_unknown_exchanges_and_lines() -> None:
    directory = Directory(
        [ExchangeEntry("ASH", "5551"), ExchangeEntry("CED", "5553", mode="manual")],
        [LineEntry("5551001", "ASH")],
    )
    text = """
        [numbering.BIR]
        local_length = 3

        [[rule]]
        name = "a"
        exact = "1"
        deliver = { exchange = "BRR" }

        [[rule]]
        name = "b"
        exact = "2"
        caller_exchange = ["ASH", "XX"]
        queue = { exchange = "CEDD" }

        [[rule]]
        name = "c"
        exact = "3"
        deliver = { line = "5551999" }

        [[rule]]
        name = "d"
        exact = "4"
        deliver = { line = "5551001" }
    """
    assert [str(d) for d in check(text, directory)] == [
        f"{FILE}:1: [numbering.BIR]: no exchange BIR",
        f'{FILE}:7: rule "a": no exchange BRR',
        f'{FILE}:12: rule "b": caller_exchange: no exchange XX',
        f'{FILE}:13: rule "b": no exchange CEDD',
        f'{FILE}:18: rule "c": no line 5551999',
    ]
    assert check(text) == []  # without a directory, names are taken on trust
    lines_unknown = Directory(directory.exchanges())
    assert f'{FILE}:18: rule "c": no line 5551999' not in [
        str(d) for d in check(text, lines_unknown)
    ]


def test_empty_plan_warns() -> None:
    plan = load_dialplan({FILE: "# nothing yet\n"})
    [warning] = check_dialplan(plan)
    assert str(warning) == (
        f"{FILE}:1: warning: the dialplan has no rules: every call is rejected with 404"
    )
