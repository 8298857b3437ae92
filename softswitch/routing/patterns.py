"""Number patterns of dialplan rules: exact numbers, prefixes, Asterisk-style patterns, regexes.

Every pattern knows its *literal*: the digits every number it matches must begin with (for an
exact number, the number itself). The compiler indexes rules by it in a trie, so only a regex
that is not anchored with `^` (or has no literal digits after it) has to be tried on every call.

Asterisk-style patterns follow Asterisk's extension syntax: `_` then digits and `* #` literally,
`X` = 0-9, `Z` = 1-9, `N` = 2-9, `[15-7]` = one digit of a set, and at the end `.` = one or more
further characters or `!` = zero or more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

__all__ = ["DIALABLE", "Pattern", "PatternError", "PatternKind", "is_dialable", "parse_pattern"]

DIALABLE = frozenset("0123456789*#")
_ANY = "[0-9*#]"
_DIALABLE_RE = re.compile(r"[0-9*#]+")
_MAX_LENGTH = 128


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why, for an admin."""


class PatternKind(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    ASTERISK = "pattern"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled number pattern.

    `literal`: the leading characters every matching number has. `indexed` is False only for a
    regex whose matches may start with anything (those are scanned on every lookup).
    """

    kind: PatternKind
    text: str
    literal: str
    indexed: bool
    regex: re.Pattern[str] | None = None

    def matches(self, number: str) -> bool:
        kind = self.kind
        if kind is PatternKind.EXACT:
            return number == self.literal
        if kind is PatternKind.PREFIX:
            return number.startswith(self.literal)
        assert self.regex is not None
        if kind is PatternKind.ASTERISK:
            return self.regex.fullmatch(number) is not None
        return self.regex.search(number) is not None

    @property
    def key(self) -> tuple[str, str]:
        """Identity of what the pattern matches: two patterns with equal keys match the same
        numbers (`pattern = "5552*"` and `prefix = "5552"` have the same key)."""
        return (self.kind.value, self.text)

    def example(self, length: int = 7) -> str | None:
        """A number this pattern matches (padded with zeros towards `length` where it may be
        longer), or None for a regex."""
        if self.kind is PatternKind.EXACT:
            return self.literal
        if self.kind is PatternKind.PREFIX:
            return self.literal + "0" * max(1, length - len(self.literal))
        if self.kind is PatternKind.REGEX:
            return None
        out: list[str] = []
        body = self.text[1:]
        i = 0
        while i < len(body):
            char = body[i]
            if char == "[":
                end = body.index("]", i)
                out.append(body[i + 1])  # the first character of the set
                i = end + 1
                continue
            if char == ".":
                out.append("0" * max(1, length - len(out)))
            elif char != "!":
                out.append({"X": "0", "Z": "1", "N": "2"}.get(char, char))
            i += 1
        return "".join(out)

    def describe(self) -> str:
        if self.kind is PatternKind.EXACT:
            return f"number {self.text}"
        if self.kind is PatternKind.PREFIX:
            return f"prefix {self.text}*" if self.text else "any number"
        if self.kind is PatternKind.ASTERISK:
            return f"pattern {self.text}"
        return f"regex {self.text}"


def is_dialable(text: str) -> bool:
    """True for a non-empty string of digits, `*` and `#`."""
    return _DIALABLE_RE.fullmatch(text) is not None


def parse_pattern(kind: str, text: object) -> Pattern:
    """The pattern written as `kind = text` in a rule (`kind`: pattern, exact, prefix, regex).

    Raises `PatternError`."""
    if not isinstance(text, str):
        raise PatternError(f'{kind} must be a string in quotes, e.g. {kind} = "5551001"')
    if len(text) > _MAX_LENGTH:
        raise PatternError(f"{kind} is longer than {_MAX_LENGTH} characters")
    if kind == "exact":
        return _exact(text)
    if kind == "prefix":
        return _prefix(text)
    if kind == "regex":
        return _regex(text)
    if kind == "pattern":
        return _shorthand(text)
    raise PatternError(f"unknown pattern kind {kind!r}")


def _exact(text: str) -> Pattern:
    if not is_dialable(text):
        raise PatternError(f'exact number "{text}" may hold only digits, * and #')
    return Pattern(PatternKind.EXACT, text, text, True)


def _prefix(text: str) -> Pattern:
    if text and not is_dialable(text):
        raise PatternError(f'prefix "{text}" may hold only digits, * and #')
    return Pattern(PatternKind.PREFIX, text, text, True)


def _shorthand(text: str) -> Pattern:
    if not text:
        raise PatternError('pattern is empty (use "*" to match any number)')
    if text.startswith("_"):
        return _asterisk(text)
    if text.endswith("*") and (len(text) == 1 or is_dialable(text[:-1])):
        return _prefix(text[:-1])
    if is_dialable(text):
        return _exact(text)
    raise PatternError(
        f'pattern "{text}" is not a number ("5551001"), a prefix ("5552*") or an '
        f'Asterisk pattern ("_555XXXX"); for a regular expression write regex = "..."'
    )


_CLASSES = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]"}


def _asterisk(text: str) -> Pattern:
    body = text[1:]
    if not body:
        raise PatternError('pattern "_" has nothing after the "_"')
    parts: list[str] = []
    literal: list[str] = []
    fixed = True
    i = 0
    while i < len(body):
        char = body[i]
        if char in DIALABLE:
            parts.append(re.escape(char))
            if fixed:
                literal.append(char)
        elif char.upper() in _CLASSES:
            parts.append(_CLASSES[char.upper()])
            fixed = False
        elif char == "[":
            end = body.find("]", i + 1)
            if end < 0:
                raise PatternError(f'pattern "{text}": "[" without a closing "]"')
            parts.append(_bracket(text, body[i + 1 : end]))
            fixed = False
            i = end
        elif char in ".!":
            if i != len(body) - 1:
                raise PatternError(f'pattern "{text}": "{char}" may only be the last character')
            parts.append(_ANY + ("+" if char == "." else "*"))
            fixed = False
        else:
            raise PatternError(
                f'pattern "{text}": unexpected "{char}" (use digits, * #, X Z N, [1-4], and '
                '"." or "!" at the end)'
            )
        i += 1
    canonical = "_" + "".join(
        c.upper() if c.upper() in _CLASSES else c for c in body
    )  # x and X mean the same
    return Pattern(
        PatternKind.ASTERISK, canonical, "".join(literal), True, re.compile("".join(parts))
    )


def _bracket(text: str, content: str) -> str:
    if not content:
        raise PatternError(f'pattern "{text}": empty "[]"')
    chars: set[str] = set()
    i = 0
    while i < len(content):
        char = content[i]
        if i + 2 < len(content) and content[i + 1] == "-":
            low, high = char, content[i + 2]
            if not (low.isdigit() and high.isdigit()) or low > high:
                raise PatternError(f'pattern "{text}": bad range "{low}-{high}" in "[{content}]"')
            chars.update(str(d) for d in range(int(low), int(high) + 1))
            i += 3
            continue
        if char not in DIALABLE:
            raise PatternError(f'pattern "{text}": unexpected "{char}" in "[{content}]"')
        chars.add(char)
        i += 1
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _regex(text: str) -> Pattern:
    if not text:
        raise PatternError("regex is empty")
    try:
        compiled = re.compile(text)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise PatternError(f'invalid regex "{text}": {exc.msg}{where}') from None
    literal = regex_literal_prefix(text)
    return Pattern(PatternKind.REGEX, text, literal or "", literal is not None, compiled)


_QUANTIFIERS = frozenset("?*+{")


def regex_literal_prefix(source: str) -> str | None:
    """The literal characters every match of `source` (searched in a number) begins with, or
    None when a match may begin anywhere (the regex is not anchored with `^` or `\\A`).

    Conservative: it stops at the first construct it does not fully understand, so the answer
    is always a true prefix (possibly shorter than the best one)."""
    if source.startswith("^"):
        i = 1
    elif source.startswith("\\A"):
        i = 2
    else:
        return None
    if _has_top_level_alternation(source):
        return None
    out: list[str] = []
    while i < len(source):
        char = source[i]
        if (char.isascii() and char.isdigit()) or char == "#":
            literal, after = char, i + 1
        elif char == "\\" and i + 1 < len(source) and source[i + 1] in "*#":
            literal, after = source[i + 1], i + 2
        else:
            break
        if after < len(source) and source[after] in _QUANTIFIERS:
            break  # "5?" or "5{2}" make the digit optional or repeated
        out.append(literal)
        i = after
    return "".join(out)


def _has_top_level_alternation(source: str) -> bool:
    depth = 0
    in_class = False
    i = 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            if source.startswith("]", i + 1) or source.startswith("^]", i + 1):
                i += 2 if source[i + 1] == "]" else 3
                continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
        i += 1
    return False
