"""Structured header values: name-addr (From, To, Contact, Route), Via and CSeq."""

from __future__ import annotations

from .errors import ParseError
from .grammar import WHITESPACE, format_params, is_token, parse_params, quote, unquote
from .uri import URI, SipURI, parse_uri


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


def parse_name_addr(text: str) -> NameAddr:
    """Parse one From/To/Contact/Route value (already split from its neighbours)."""
    text = text.strip(WHITESPACE)
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
            # addr-spec: parameters after the URI belong to the header (§20.10).
            uri_text, semi, param_text = text.partition(";")
            if any(c in uri_text for c in WHITESPACE):
                raise ParseError(f"space in address {text!r}")
            return NameAddr(parse_uri(uri_text), None, parse_params(param_text) if semi else None)
        display_text = text[:angle].strip(WHITESPACE)
        if display_text:
            if not _is_token_list(" ".join(display_text.split())):
                raise ParseError(f"bad display name {display_text!r}")
            display = " ".join(display_text.split())
        rest = text[angle:]
    end = rest.find(">")
    if end < 0:
        raise ParseError(f"unterminated <uri> in {text!r}")
    uri = parse_uri(rest[1:end].strip(WHITESPACE))
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
    """`SIP/2.0/UDP host:port;branch=z9hG4bK...;rport;received=...` (RFC 3261 §20.42)."""

    __slots__ = ("host", "params", "port", "transport")

    MAGIC_COOKIE = "z9hG4bK"

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

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        value = self.params.get("rport")
        return int(value) if value else None

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
        """Where a response to this hop goes over UDP (§18.2.2, RFC 3581 §4)."""
        host = self.maddr or self.received or self.host
        port = self.rport or self.port or default_port
        if host.startswith("["):
            host = host[1:-1]
        return host, port

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"


def parse_via(text: str) -> Via:
    protocol, _, rest = text.strip(WHITESPACE).partition(" ")
    parts = [p.strip(WHITESPACE) for p in protocol.split("/")]
    if len(parts) != 3 or parts[0].upper() != "SIP" or parts[1] != "2.0" or not parts[2]:
        # tolerate spaces around the slashes ("SIP / 2.0 / UDP"), as RFC 4475 §3.1.1.1 does
        compact = text.replace(" ", "").replace("\t", "")
        fields = compact.split("/", 2)
        if len(fields) < 3 or fields[0].upper() != "SIP" or fields[1] != "2.0":
            raise ParseError(f"bad Via protocol in {text!r}")
        slash_end = text.find("/", text.find("/") + 1)
        after = text[slash_end + 1 :].lstrip(WHITESPACE)
        transport, _, rest = after.partition(" ")
        if not transport:
            raise ParseError(f"bad Via protocol in {text!r}")
        parts = ["SIP", "2.0", transport]
    transport = parts[2]
    if not is_token(transport):
        raise ParseError(f"bad Via transport in {text!r}")
    rest = rest.strip(WHITESPACE)
    sent_by, _, param_text = rest.partition(";")
    sent_by = sent_by.strip(WHITESPACE)
    if not sent_by:
        raise ParseError(f"Via without sent-by in {text!r}")
    try:
        uri = parse_uri(f"sip:{sent_by.replace(' ', '')}")
    except ParseError as err:
        raise ParseError(f"bad Via sent-by in {text!r}") from err
    assert isinstance(uri, SipURI)
    params = parse_params(param_text)
    for numeric in ("ttl", "rport"):
        value = params.get(numeric)
        if value is not None and not value.isdigit():
            raise ParseError(f"bad Via {numeric} in {text!r}")
    return Via(transport, uri.host, uri.port, params)


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
    number, _, method = text.strip(WHITESPACE).partition(" ")
    method = method.strip(WHITESPACE)
    if not number.isdigit() or len(number) > 10 or not is_token(method):
        raise ParseError(f"bad CSeq {text!r}")
    value = int(number)
    if value >= 2**31:
        raise ParseError(f"CSeq number out of range in {text!r}")
    return CSeq(value, method)
