"""Small pieces of the RFC 3261 §25 grammar shared by headers, URIs and addresses."""

from __future__ import annotations

from .errors import ParseError

# RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
WHITESPACE = " \t"


def is_token(text: str) -> bool:
    return bool(text) and all(c in TOKEN_CHARS for c in text)


def unquote(text: str) -> str:
    """The content of a quoted-string (with its quotes) with quoted-pairs resolved."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ParseError(f"not a quoted string: {text!r}")
    inner = text[1:-1]
    if "\\" not in inner:
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
        out.append(c)
        i += 1
    return "".join(out)


def quote(text: str) -> str:
    """A quoted-string for `text`, escaping quotes and backslashes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


def parse_params(text: str) -> dict[str, str | None]:
    """`;name=value;flag;name="quoted"` (the leading ';' optional) to an ordered dict.

    Names are case-insensitive (RFC 3261 §7.3.1) and stored lower case; values keep their case,
    quoted values keep their quotes so they serialize back as they came.
    """
    params: dict[str, str | None] = {}
    if not text:
        return params
    for item in split_unquoted(text, ";"):
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip()
        if not is_token(name):
            raise ParseError(f"bad parameter name {name!r}")
        if eq:
            value = value.strip()
            if not value:
                raise ParseError(f"parameter {name!r} has an empty value")
            if value[0] == '"':
                unquote(value)  # validates
            params[name.lower()] = value
        else:
            params[name.lower()] = None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())
