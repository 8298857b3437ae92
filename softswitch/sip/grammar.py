"""Small pieces of the RFC 3261 §25 grammar shared by headers, URIs and addresses."""

from __future__ import annotations

import re

from .errors import ParseError

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
WHITESPACE = " \t"
# Characters a quoted-string carries only as quoted-pairs (HTAB is LWS and stays as it is).
_CONTROLS = frozenset(chr(c) for c in (*range(0x20), 0x7F)) - {"\t"}
# gen-value = token / host / quoted-string: whatever it is, it has none of these (§25.1).
_NOT_IN_VALUES = frozenset(' \t"<>\\') | _CONTROLS


def is_token(text: str) -> bool:
    return bool(text) and TOKEN_CHARS.issuperset(text)


def is_digits(text: str) -> bool:
    """1*DIGIT in ASCII (str.isdigit also accepts "²" and "٣", which int() then refuses)."""
    return text.isdigit() and text.isascii()


def is_crlf_only(head: str) -> bool:
    """Does every CR and LF in `head` come as a CRLF pair? (One copy and two memchr scans:
    a few times faster than counting each character.)"""
    rest = head.replace("\r\n", "")
    return "\r" not in rest and "\n" not in rest


def unquote(text: str) -> str:
    """The content of a quoted-string (with its quotes) with quoted-pairs resolved."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ParseError(f"not a quoted string: {text!r}")
    inner = text[1:-1]
    if "\\" not in inner:
        if '"' in inner:
            raise ParseError(f"quote inside a quoted string: {text!r}")
        return inner
    out: list[str] = []
    i = 0
    while i < len(inner):
        c = inner[i]
        if c == "\\":
            i += 1
            if i == len(inner):
                raise ParseError("quoted string ends in a backslash")
            c = inner[i]
        elif c == '"':
            raise ParseError(f"quote inside a quoted string: {text!r}")
        out.append(c)
        i += 1
    return "".join(out)


def quote(text: str) -> str:
    """A quoted-string for `text`: quotes, backslashes and control characters become
    quoted-pairs (§25.1). CR and LF cannot be written in a quoted-string at all: ValueError."""
    if "\r" in text or "\n" in text:
        raise ValueError(f"CR or LF cannot be quoted: {text!r}")
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    if not out.isprintable():
        out = "".join(f"\\{c}" if c in _CONTROLS else c for c in out)
    return '"' + out + '"'


def find_unquoted(text: str, chars: str, start: int = 0) -> int:
    """Index of the first of `chars` outside quoted strings and <...>, or -1."""
    in_quotes = False
    in_angle = False
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif in_angle:
            if c == ">":
                in_angle = False
        elif c == "<":
            in_angle = True
        elif c in chars:
            return i
        i += 1
    if in_quotes:
        raise ParseError(f"unterminated quoted string in {text!r}")
    return -1


def split_unquoted(text: str, separator: str) -> list[str]:
    """Split at `separator` where it is outside quoted strings and <...>; items are stripped."""
    if separator not in text:
        return [text.strip()]
    if '"' not in text and "<" not in text:
        return [part.strip() for part in text.split(separator)]
    parts: list[str] = []
    start = 0
    while True:
        i = find_unquoted(text, separator, start)
        if i < 0:
            parts.append(text[start:].strip())
            return parts
        parts.append(text[start:i].strip())
        start = i + 1


# `;name=value;flag` of tokens (and host characters in values, for `received` and `maddr`): a
# subset of what parse_params accepts, read without its per-item checks. Address and Via
# shortcuts put it in their own expressions, so such a value is matched once.
SIMPLE_PARAMS = r"(?:;[-!%'*+.0-9A-Za-z_`~]+(?:=[-!%'*+.0-9A-Za-z_`~:\[\]]+)?)+"
_SIMPLE_PARAMS_RE = re.compile(SIMPLE_PARAMS)


def parse_params(text: str) -> dict[str, str | None]:
    """`;name=value;flag;name="quoted"` (the leading ';' optional) to an ordered dict.

    Names are case-insensitive (RFC 3261 §7.3.1) and stored lower case; values keep their case,
    quoted values keep their quotes so they serialize back as they came. An empty parameter
    (`;;`, a trailing `;`) or a name given twice is a ParseError (§25: generic-param, §7.3.1).
    """
    params: dict[str, str | None] = {}
    if not text:
        return params
    if _SIMPLE_PARAMS_RE.fullmatch(text) is not None:
        return parse_simple_params(text)
    return parse_params_fully(text)


def parse_simple_params(text: str) -> dict[str, str | None]:
    """`parse_params` for a text that matches `SIMPLE_PARAMS`: the usual `;name=value;flag`
    with no spaces or quotes, for which its other checks hold already."""
    params: dict[str, str | None] = {}
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        name = name.lower()
        if name in params:
            raise ParseError(f"parameter {name!r} given twice")
        params[name] = value if eq else None
    return params


def parse_params_fully(text: str) -> dict[str, str | None]:
    """`parse_params` without the shortcut for the usual form."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    body = text.lstrip(WHITESPACE)
    if body.startswith(";"):
        body = body[1:]
    for item in split_unquoted(body, ";"):
        if not item:
            raise ParseError(f"empty parameter in {text!r}")
        name, eq, value = item.partition("=")
        name = name.rstrip(WHITESPACE).lower()
        if not is_token(name):
            raise ParseError(f"bad parameter name {name!r}")
        if name in params:
            raise ParseError(f"parameter {name!r} given twice")
        if eq:
            value = value.lstrip(WHITESPACE)
            if not value:
                raise ParseError(f"parameter {name!r} has an empty value")
            if value[0] == '"':
                unquote(value)  # validates
            elif not _NOT_IN_VALUES.isdisjoint(value):
                raise ParseError(f"bad value of parameter {name!r}: {value!r}")
            params[name] = value
        else:
            params[name] = None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())
