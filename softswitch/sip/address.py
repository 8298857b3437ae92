"""Structured header values: name-addr (From, To, Contact, Route), Via and CSeq."""

from __future__ import annotations

import re
from typing import ClassVar

from .errors import ParseError
from .grammar import (
    SIMPLE_PARAMS,
    TOKEN_CHARS,
    WHITESPACE,
    format_params,
    is_digits,
    is_token,
    parse_params,
    parse_simple_params,
    quote,
    unquote,
)
from .uri import SIMPLE_SIP_URI, URI, SipURI, parse_host_port, parse_uri, parse_uri_params

# The forms nearly every phone and proxy writes, read by one regular expression each; anything
# else (escapes, IPv6, quoted-pairs, URI headers, LWS in odd places) takes the full parser, so
# these accept a subset of what it accepts and build the same values.
_TOKEN = r"[-!%'*+.0-9A-Za-z_`~]+"
_HOST = r"[-.0-9A-Za-z_]+"
_SIMPLE_NAME_ADDR_RE = re.compile(
    rf'(?:"([^"\\]*)"|({_TOKEN}(?: {_TOKEN})*))?[ \t]*'  # display name
    rf"<{SIMPLE_SIP_URI}>"
    rf"[ \t]*({SIMPLE_PARAMS})?"  # header parameters
)
_SIMPLE_VIA_RE = re.compile(
    rf"SIP/2\.0/([A-Za-z]+) ({_HOST})(?::([0-9]{{1,5}}))?({SIMPLE_PARAMS})?"
)


class NameAddr:
    """`"Display" <uri>;params` or an addr-spec with header parameters after it."""

    __slots__ = ("display", "params", "uri")

    def __init__(
        self, uri: URI, display: str | None = None, params: dict[str, str | None] | None = None
    ) -> None:
        self.uri = uri
        self.display = display
        self.params = params if params is not None else {}

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        params = dict(self.params)
        params["tag"] = tag
        return NameAddr(self.uri, self.display, params)

    def __str__(self) -> str:
        display = ""
        if self.display:
            display = (self.display if _is_token_list(self.display) else quote(self.display)) + " "
        return f"{display}<{self.uri}>{format_params(self.params)}"

    def __repr__(self) -> str:
        return f"NameAddr({str(self)!r})"


def _is_token_list(text: str) -> bool:
    return all(is_token(word) for word in text.split(" "))


def _words(text: str) -> list[str]:
    """The words of an unquoted display name, split at LWS (SP and HTAB only)."""
    return [word for word in text.replace("\t", " ").split(" ") if word]


def parse_name_addr(text: str) -> NameAddr:
    """Parse one From/To/Contact/Route value (already split from its neighbours)."""
    text = text.strip(WHITESPACE)
    simple = _SIMPLE_NAME_ADDR_RE.fullmatch(text)
    if simple is not None:
        quoted, words, user, host, port, uri_params, params = simple.groups()
        if port is None or 0 < int(port) < 65536:
            uri = SipURI(
                host, user, int(port) if port else None, parse_uri_params(uri_params, text)
            )
            header_params = parse_simple_params(params) if params else {}
            return NameAddr(uri, quoted if words is None else words, header_params)
    return parse_name_addr_fully(text)


def parse_name_addr_fully(text: str) -> NameAddr:
    """`parse_name_addr` without the shortcut for the common forms: every form of §25.1."""
    if not text:
        raise ParseError("empty address")
    display: str | None = None
    if text[0] == '"':
        end = _closing_quote(text)
        display = unquote(text[: end + 1])
        rest = text[end + 1 :].lstrip(WHITESPACE)
        if not rest.startswith("<"):
            raise ParseError(f"display name without <uri> in {text!r}")
    else:
        angle = text.find("<")
        if angle < 0:
            # addr-spec: parameters after the URI belong to the header (§20.10), so a URI with
            # a comma, question mark or semicolon of its own must be in <> (RFC 4475 §3.1.2.13).
            uri_text, semi, param_text = text.partition(";")
            uri_text = uri_text.rstrip(WHITESPACE)
            if "?" in uri_text or "," in uri_text:
                raise ParseError(f"URI with headers or a comma not in <> in {text!r}")
            if any(c in uri_text for c in WHITESPACE):
                raise ParseError(f"space in address {text!r}")
            return NameAddr(parse_uri(uri_text), None, parse_params(semi + param_text))
        words = _words(text[:angle])
        if words:
            display = " ".join(words)
            if not _is_token_list(display):
                raise ParseError(f"bad display name {display!r}")
        rest = text[angle:]
    end = rest.find(">")
    if end < 0:
        raise ParseError(f"unterminated <uri> in {text!r}")
    # LAQUOT and RAQUOT allow no whitespace inside the brackets (RFC 4475 §3.1.2.14).
    uri = parse_uri(rest[1:end])
    tail = rest[end + 1 :].strip(WHITESPACE)
    if tail and tail[0] != ";":
        raise ParseError(f"junk after <uri> in {text!r}")
    return NameAddr(uri, display, parse_params(tail))


def _closing_quote(text: str) -> int:
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        i += 1
    raise ParseError(f"unterminated quoted string in {text!r}")


class Via:
    """`SIP/2.0/UDP host:port;branch=z9hG4bK...;rport;received=...` (RFC 3261 §20.42).

    `version` is the protocol version as received: "2.0", or another one in a request that is
    answered 505 (RFC 4475 §3.1.2.16).
    """

    __slots__ = ("host", "params", "port", "transport", "version")

    MAGIC_COOKIE: ClassVar[str] = "z9hG4bK"

    def __init__(
        self,
        transport: str,
        host: str,
        port: int | None = None,
        params: dict[str, str | None] | None = None,
    ) -> None:
        self.transport = transport.upper()
        self.host = host
        self.port = port
        self.params = params if params is not None else {}
        self.version = "2.0"

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        value = self.params.get("rport")
        return int(value) if value and is_digits(value) else None

    @property
    def has_rport(self) -> bool:
        return "rport" in self.params

    @property
    def maddr(self) -> str | None:
        return self.params.get("maddr")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host.lower(), self.port

    def response_address(self, default_port: int = 5060) -> tuple[str, int]:
        """Where a response to this hop goes over UDP (§18.2.2, RFC 3581 §4): to `maddr` and
        the sent-by port when there is one; else to `received` (or the sent-by host) and
        `rport` (or the sent-by port)."""
        if self.maddr:
            host, port = self.maddr, self.port or default_port
        else:
            host = self.received or self.host
            port = self.rport or self.port or default_port
        if host.startswith("["):
            host = host[1:-1]
        return host, port

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        params = format_params(self.params)
        return f"SIP/{self.version}/{self.transport} {self.host}{port}{params}"

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"


def parse_via(text: str) -> Via:
    """One via-parm: `SIP / 2.0 / UDP host:port;params` (SLASH and the gap before sent-by may
    hold LWS, RFC 4475 §3.1.1.1)."""
    simple = _SIMPLE_VIA_RE.fullmatch(text)
    if simple is not None:
        transport, host, port, param_text = simple.groups()
        if port is None or 0 < int(port) < 65536:
            params = parse_simple_params(param_text) if param_text else {}
            via = Via(transport, host, int(port) if port else None, params)
            _check_numeric_params(via.params, text)
            return via
    return parse_via_fully(text)


def parse_via_fully(text: str) -> Via:
    """`parse_via` without the shortcut for the common form."""
    first = text.find("/")
    second = text.find("/", first + 1) if first >= 0 else -1
    if second < 0:
        raise ParseError(f"bad Via protocol in {text!r}")
    name = text[:first].strip(WHITESPACE)
    version = text[first + 1 : second].strip(WHITESPACE)
    if name.upper() != "SIP" or not is_token(version):
        raise ParseError(f"bad Via protocol in {text!r}")
    rest = text[second + 1 :].lstrip(WHITESPACE)
    end = 0
    while end < len(rest) and rest[end] in TOKEN_CHARS:
        end += 1
    transport, rest = rest[:end], rest[end:]
    if not transport or not rest or rest[0] not in WHITESPACE:
        raise ParseError(f"bad Via transport in {text!r}")
    sent_by, semi, param_text = rest.partition(";")
    sent_by = sent_by.strip(WHITESPACE)
    if not sent_by:
        raise ParseError(f"Via without sent-by in {text!r}")
    if " " in sent_by or "\t" in sent_by:
        # sent-by = host [ COLON port ], and COLON may have LWS around it
        host_text, colon, port_text = sent_by.rpartition(":")
        sent_by = f"{host_text.rstrip(WHITESPACE)}{colon}{port_text.lstrip(WHITESPACE)}"
    host, port = parse_host_port(sent_by, text)
    params = parse_params(semi + param_text)
    _check_numeric_params(params, text)
    via = Via(transport, host, port, params)
    via.version = version
    return via


def _check_numeric_params(params: dict[str, str | None], text: str) -> None:
    for numeric in ("ttl", "rport"):
        value = params.get(numeric)
        if value is not None and not is_digits(value):
            raise ParseError(f"bad Via {numeric} in {text!r}")


class CSeq:
    __slots__ = ("method", "number")

    def __init__(self, number: int, method: str) -> None:
        self.number = number
        self.method = method

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    def __repr__(self) -> str:
        return f"CSeq({self.number}, {self.method!r})"


def parse_cseq(text: str) -> CSeq:
    number, _, method = text.strip(WHITESPACE).replace("\t", " ").partition(" ")
    method = method.strip(WHITESPACE)
    if not is_digits(number) or len(number) > 10 or not is_token(method):
        raise ParseError(f"bad CSeq {text!r}")
    value = int(number)
    if value >= 2**31:
        raise ParseError(f"CSeq number out of range in {text!r}")
    return CSeq(value, method)
