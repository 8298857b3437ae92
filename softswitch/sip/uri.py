"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966) and their comparison (§19.1.4)."""

from __future__ import annotations

import re

from .errors import ParseError
from .grammar import format_params, is_digits

DEFAULT_PORTS = {"sip": 5060, "sips": 5061}
# URI parameters that, when present in only one of two URIs, make them differ (§19.1.4).
_SIGNIFICANT_PARAMS = ("user", "ttl", "method", "maddr", "transport")
# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
# Never in a URI as written (§19.1.1, RFC 3986 §2): whitespace, controls, quotes, angle brackets.
_NOT_IN_URIS = frozenset(chr(c) for c in (*range(0x21), 0x7F)) | frozenset('"<>')
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:.")
# RFC 2396 unreserved: the characters whose %HEX HEX escape means the character itself.
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()")
_ESCAPE_RE = re.compile(r"%([0-9A-Fa-f]{2})")
# The form nearly every phone and proxy writes, `sip:user@host:port;params`, read by one
# expression (groups: user, host, port, params): a subset of what the full parser accepts,
# for which it builds the same value. The name-addr shortcut uses it inside its <>.
SIMPLE_SIP_URI = (
    r"sip:(?:([-!'()*+.0-9A-Za-z_~&=$,%]+)@)?([-.0-9A-Za-z_]+)(?::([0-9]{1,5}))?"
    r"((?:;[-!%'()*+.0-9A-Za-z_~]+(?:=[-!%'()*+.0-9A-Za-z_~\[\]/:&$]*)?)*)"
)
_SIMPLE_SIP_URI_RE = re.compile(SIMPLE_SIP_URI)


class SipURI:
    """`sip:user:password@host:port;params?headers`. Host names are kept as written."""

    __slots__ = ("headers", "host", "params", "password", "port", "scheme", "user")

    def __init__(
        self,
        host: str,
        user: str | None = None,
        port: int | None = None,
        params: dict[str, str | None] | None = None,
        scheme: str = "sip",
        password: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.params = params if params is not None else {}
        self.headers = headers if headers is not None else {}

    @property
    def transport(self) -> str:
        """The transport a request to this URI uses (default UDP, TLS for sips)."""
        value = self.params.get("transport")
        if value:
            return value.lower()
        return "tls" if self.scheme == "sips" else "udp"

    @property
    def host_port(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def aor(self) -> str:
        """The address of record form: scheme, user and host, nothing else (§10.3 step 5), with
        escapes in the user part in one canonical form (so `%61lice` and `alice` are one AOR,
        while `%00` stays escaped rather than becoming a NUL)."""
        user = f"{normalize_escapes(self.user)}@" if self.user is not None else ""
        return f"{self.scheme}:{user}{self.host.lower()}"

    def copy(self) -> SipURI:
        return SipURI(
            self.host,
            self.user,
            self.port,
            dict(self.params),
            self.scheme,
            self.password,
            dict(self.headers),
        )

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.user is not None:
            parts.append(self.user)
            if self.password is not None:
                parts += (":", self.password)
            parts.append("@")
        parts.append(self.host)
        if self.port is not None:
            parts += (":", str(self.port))
        if self.params:
            parts.append(format_params(self.params))
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    def __repr__(self) -> str:
        return f"SipURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SipURI):
            return NotImplemented
        return uri_equal(self, other)

    def __hash__(self) -> int:
        user = normalize_escapes(self.user) if self.user is not None else None
        return hash((self.scheme, user, self.host.lower(), self.port))


class TelURI:
    """`tel:+1-201-555-0123;phone-context=...` (RFC 3966)."""

    __slots__ = ("number", "params", "scheme")

    def __init__(self, number: str, params: dict[str, str | None] | None = None) -> None:
        self.scheme = "tel"
        self.number = number
        self.params = params if params is not None else {}

    @property
    def digits(self) -> str:
        """The number without visual separators (RFC 3966 §5.1.1)."""
        return "".join(c for c in self.number if c not in "-.()")

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    def __repr__(self) -> str:
        return f"TelURI({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelURI):
            return NotImplemented
        return self.digits == other.digits and _lower_params(self.params) == _lower_params(
            other.params
        )

    def __hash__(self) -> int:
        return hash(self.digits)


class AbsoluteURI:
    """Any other URI scheme (mailto:, urn:, http:): kept as text, compared as text."""

    __slots__ = ("scheme", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.scheme = text.partition(":")[0].lower()

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"AbsoluteURI({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AbsoluteURI):
            return NotImplemented
        return self.text == other.text

    def __hash__(self) -> int:
        return hash(self.text)


URI = SipURI | TelURI | AbsoluteURI


def parse_uri(text: str) -> URI:
    """Parse a URI; raises ParseError (400) when it is malformed."""
    simple = _SIMPLE_SIP_URI_RE.fullmatch(text)
    if simple is not None:
        user, host, port, params = simple.groups()
        if port is None or 0 < int(port) < 65536:
            port_number = int(port) if port else None
            return SipURI(host, user, port_number, parse_uri_params(params, text))
    return parse_uri_fully(text)


def parse_uri_fully(text: str) -> URI:
    """`parse_uri` without the shortcut for the common form."""
    scheme, colon, rest = text.partition(":")
    if not colon or not _SCHEME_RE.fullmatch(scheme):
        raise ParseError(f"not a URI: {text!r}")
    if not _NOT_IN_URIS.isdisjoint(text):
        raise ParseError(f"whitespace, control character, quote or <> in URI {text!r}")
    scheme_lower = scheme.lower()
    if scheme_lower in ("sip", "sips"):
        return _parse_sip_uri(scheme_lower, rest, text)
    if scheme_lower == "tel":
        number, semi, params = rest.partition(";")
        if not number or not all(c in "+0123456789-.()*#ABCDabcdpw" for c in number):
            raise ParseError(f"bad telephone number in {text!r}")
        return TelURI(number, parse_uri_params(semi + params, text))
    if not rest:
        raise ParseError(f"not a URI: {text!r}")
    return AbsoluteURI(text)


def parse_sip_uri(text: str) -> SipURI:
    """Parse a URI that must be sip: or sips: (a Via-reachable target, a Route entry)."""
    uri = parse_uri(text)
    if not isinstance(uri, SipURI):
        raise ParseError(
            f"not a SIP URI: {text!r}",
        )
    return uri


def _parse_sip_uri(scheme: str, rest: str, text: str) -> SipURI:
    user: str | None = None
    password: str | None = None
    # "@" is in none of hostport, uri-parameters and headers (§25.1), so the first one ends the
    # userinfo, which may itself hold ";", "?", "/" and "," (RFC 4475 §3.1.1.2).
    at = rest.find("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, colon, pw = userinfo.partition(":")
        if colon:
            password = pw
        if not user:
            raise ParseError(f"empty user part in {text!r}")
    headers: dict[str, str] = {}
    rest, question, header_text = rest.partition("?")
    if question:
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not name or not eq:
                raise ParseError(f"bad URI header {item!r} in {text!r}")
            headers[name] = value
    hostport, semi, param_text = rest.partition(";")
    host, port = parse_host_port(hostport, text)
    params = parse_uri_params(semi + param_text, text)
    return SipURI(host, user, port, params, scheme, password, headers)


def parse_host_port(hostport: str, text: str) -> tuple[str, int | None]:
    """`host[:port]` of a SIP URI or a Via sent-by; an IPv6 reference keeps its brackets."""
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ParseError(f"unterminated IPv6 reference in {text!r}")
        host = hostport[: end + 1]
        port_text = hostport[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise ParseError(f"junk after IPv6 reference in {text!r}")
        if ":" not in host or not _IPV6_CHARS.issuperset(host[1:-1]):
            raise ParseError(f"bad IPv6 reference in {text!r}")
        colon = port_text[:1]
        port_text = port_text[1:]
    else:
        host, colon, port_text = hostport.partition(":")
        if not host or not _HOST_CHARS.issuperset(host):
            raise ParseError(f"bad host in {text!r}")
    if not colon:
        return host, None
    if not is_digits(port_text) or not 0 < int(port_text) < 65536:
        raise ParseError(f"bad port in {text!r}")
    return host, int(port_text)


def parse_uri_params(text: str, whole: str) -> dict[str, str | None]:
    """`;name=value;flag` (with its leading ';') to a dict with lower-case names."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    for item in text[1:].split(";"):
        name, eq, value = item.partition("=")
        if not name:
            raise ParseError(f"empty URI parameter in {whole!r}")
        params[name.lower()] = value if eq else None
    return params


def normalize_escapes(text: str) -> str:
    """One spelling for text with %HEX HEX escapes: an escaped unreserved character becomes the
    character, any other escape keeps its upper-case hex (§19.1.4: characters other than those
    in the reserved set are equivalent to their escapes; reserved ones are not)."""
    if "%" not in text:
        return text
    return _ESCAPE_RE.sub(_normalize_escape, text)


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match[1], 16))
    return char if char in _UNRESERVED else "%" + match[1].upper()


def _lower_params(params: dict[str, str | None]) -> dict[str, str | None]:
    return {
        normalize_escapes(k).lower(): (normalize_escapes(v).lower() if v is not None else None)
        for k, v in params.items()
    }


def uri_equal(a: SipURI, b: SipURI) -> bool:
    """RFC 3261 §19.1.4: user and password case-sensitive, host and parameters not, escapes
    resolved, a default port not the same as no port, and uri-parameters compared only where
    both carry them, except user, ttl, method, maddr and transport, which must match both ways.
    """
    if a.scheme != b.scheme or a.port != b.port:
        return False
    if _unescape_opt(a.user) != _unescape_opt(b.user):
        return False
    if _unescape_opt(a.password) != _unescape_opt(b.password):
        return False
    if a.host.lower() != b.host.lower():
        return False
    pa = _lower_params(a.params)
    pb = _lower_params(b.params)
    for name in _SIGNIFICANT_PARAMS:
        if (name in pa) != (name in pb):
            return False
    for name in pa.keys() & pb.keys():
        if pa[name] != pb[name]:
            return False
    ha = {normalize_escapes(k).lower(): normalize_escapes(v) for k, v in a.headers.items()}
    hb = {normalize_escapes(k).lower(): normalize_escapes(v) for k, v in b.headers.items()}
    return ha == hb


def _unescape_opt(text: str | None) -> str | None:
    return normalize_escapes(text) if text is not None else None


def default_port(uri: SipURI) -> int:
    if uri.port is not None:
        return uri.port
    return DEFAULT_PORTS["sips" if uri.scheme == "sips" or uri.transport == "tls" else "sip"]
