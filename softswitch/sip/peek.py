"""A look at a request's bytes without the full parse, for what the node does with a request
many times a second and can do from its bytes, at a fraction of the cost of parsing:

- answer a new request statelessly (§8.2.7): a REGISTER's digest challenge, and refusals
  while the node sheds load;
- relay the ACK of a 2xx along its Route set (§16.6), editing only the lines a proxy edits.

Only the usual form is read here: a head of CRLF lines without folding, one value on the
first Via line, From, To, Call-ID and CSeq once each. For anything else, and for any request
these do not apply to, the answer is None and the full parser takes the request.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from .address import Via, parse_cseq, parse_name_addr, parse_via
from .errors import SipError
from .grammar import WHITESPACE, is_crlf_only, is_digits, is_token, split_unquoted
from .headers import header_key
from .message import MAX_HEADER_FIELDS, SIP_VERSION, field_key
from .uri import SipURI, parse_uri

REFUSAL_TAG_PREFIX = "ovl-"  # the To tag of every stateless refusal begins with this
_REFUSAL_TAG = f"tag={REFUSAL_TAG_PREFIX}".encode()

# The fields a response copies from its request (§8.2.6.2), besides the Vias.
_COPIED = frozenset({"from", "to", "call-id", "cseq"})
_CREDENTIALS = frozenset({"authorization", "proxy-authorization"})
# The numbers a message carries at most once, checked as the full parser checks them.
_NUMBERS = frozenset({"max-forwards", "content-length"})
# The fields a message carries at most once that relaying an ACK reads or checks.
_SINGLE = _COPIED | _NUMBERS


class NewRequest:
    """A request outside any dialog, read from its bytes: what a stateless answer to it
    needs."""

    __slots__ = ("_lines", "_uri", "_values", "credentials", "method", "requires", "top_via")

    def __init__(
        self,
        method: str,
        uri: str,
        top_via: Via,
        lines: list[tuple[str, str]],
        values: dict[str, str],
        requires: bool = False,
        credentials: tuple[str, ...] = (),
    ) -> None:
        self.method = method
        self._uri = uri
        self.top_via = top_via  # parsed, so the transport can stamp it (§18.2.1)
        self._lines = lines  # (key, line) of the Via lines and the copied fields, in order
        self._values = values  # the value of each copied field
        self.requires = requires  # it has a Require field (extensions the UAS must support)
        self.credentials = credentials  # its Authorization and Proxy-Authorization values

    @property
    def call_id(self) -> str:
        return self._values["call-id"]

    def readable(self) -> bool:
        """Would the full parser take it: the Request-URI, From, To and CSeq as it reads them?
        A request it would answer 400 must get that answer, not one made here; a refusal in
        overload may skip the question (the 400 comes when the request is sent again)."""
        values = self._values
        try:
            uri = parse_uri(self._uri)
            parse_name_addr(values["from"])
            to = parse_name_addr(values["to"])
            cseq = parse_cseq(values["cseq"])
        except SipError:
            return False
        if isinstance(uri, SipURI) and uri.headers:
            return False  # no headers in a Request-URI (§19.1.1)
        return to.tag is None and cseq.method == self.method

    def refusal_tag(self) -> str:
        """The To tag of a stateless refusal: the same for every retransmission."""
        values = self._values
        source = "\n".join(
            (values["call-id"], values["from"], self.top_via.branch or "", values["cseq"])
        )
        return f"{REFUSAL_TAG_PREFIX}{zlib.crc32(source.encode('utf-8', 'surrogateescape')):08x}"

    def response(
        self,
        status: int,
        reason: str,
        headers: Sequence[tuple[str, str]],
        to_tag: str | None = None,
    ) -> bytes:
        """A stateless response: the copied fields as they came (the top Via as stamped since),
        a To tag (`to_tag`, or the refusal's), and `headers`."""
        tag = to_tag if to_tag is not None else self.refusal_tag()
        lines = [f"{SIP_VERSION} {status} {reason}"]
        top = True
        for key, line in self._lines:
            if key == "via" and top:
                lines.append(f"Via: {self.top_via}")
                top = False
            elif key == "to":
                lines.append(f"{line};tag={tag}")
            else:
                lines.append(line)
        lines.extend(f"{name}: {value}" for name, value in headers)
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape")


def peek_new_request(data: bytes) -> NewRequest | None:
    """The request in `data` when it is in the usual form and outside any dialog (no To tag);
    else None. Its structure is checked as the full parser checks it (field names, numbers,
    the top Via); `NewRequest.readable` checks the rest."""
    lines = _usual_lines(data)
    if lines is None or len(lines) - 1 > MAX_HEADER_FIELDS:
        return None
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != SIP_VERSION or not is_token(parts[0]):
        return None
    kept: list[tuple[str, str]] = []
    values: dict[str, str] = {}
    numbers: dict[str, str] = {}
    top_via: str | None = None
    requires = False
    credentials: list[str] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        key = field_key(name) if colon else None
        if key is None:
            return None  # folding, or not a header line
        if key == "via":
            if top_via is None:
                top_via = value.strip(WHITESPACE)
            kept.append((key, line))
        elif key in _COPIED:
            if key in values:
                return None
            values[key] = value.strip(WHITESPACE)
            kept.append((key, line))
        elif key in _CREDENTIALS:
            credentials.append(value.strip(WHITESPACE))
        elif key == "require":
            requires = True
        elif key in _NUMBERS:
            if key in numbers:
                return None
            numbers[key] = value.strip(WHITESPACE)
    if top_via is None or "," in top_via or len(values) != len(_COPIED) or not values["call-id"]:
        return None
    if not _numbers_read(numbers, len(data) - data.find(b"\r\n\r\n") - 4):
        return None
    method = parts[0]
    cseq = values["cseq"].split()
    if "tag" in values["to"].lower() or len(cseq) != 2 or cseq[1] != method:
        return None  # in a dialog (or a To to be read properly), or a CSeq to be answered 400
    try:
        via = parse_via(top_via)
    except SipError:
        return None
    return NewRequest(method, parts[1], via, kept, values, requires, tuple(credentials))


def _numbers_read(numbers: dict[str, str], body_length: int) -> bool:
    """Max-Forwards and Content-Length as the full parser reads them: digits, and a body at
    least as long as Content-Length says."""
    max_forwards = numbers.get("max-forwards")
    if max_forwards is not None and (not is_digits(max_forwards) or len(max_forwards) > 10):
        return False
    length = numbers.get("content-length")
    if length is None:
        return True  # over UDP, the rest of the datagram (§18.3)
    return is_digits(length) and len(length) <= 9 and int(length) <= body_length


def _usual_lines(data: bytes) -> list[str] | None:
    """The lines of the head (the start line first) when every one ends in CRLF and there is
    no other CR or LF in it; else None."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("utf-8", "surrogateescape")
    lines = head.split("\r\n")
    if not is_crlf_only(head):
        return None  # a bare CR or LF: the full parser's case
    return lines


class DialogAck:
    """An ACK read from its bytes: what relaying it along its Route set needs (§16.4, §16.6).
    The forwarded ACK is its lines as they came, but for the lines a proxy edits."""

    __slots__ = (
        "_body",
        "_lines",
        "_max_forwards_at",
        "_route_values",
        "_via_at",
        "max_forwards",
        "routes",
        "top_via",
        "uri",
    )

    def __init__(
        self,
        lines: list[str],
        body: bytes,
        uri: str,
        top_via: Via,
        via_at: int,
        route_values: dict[int, list[str]],
        max_forwards: int | None,
        max_forwards_at: int | None,
    ) -> None:
        self._lines = lines
        self._body = body
        self.uri = uri
        self.top_via = top_via  # parsed, so the transport can stamp it (§18.2.1)
        self._via_at = via_at
        self._route_values = route_values  # line index -> the Route values on that line
        self.routes = [value for values in route_values.values() for value in values]
        self.max_forwards = max_forwards
        self._max_forwards_at = max_forwards_at

    def forwarded(self, via: str, max_forwards: int, routes_taken: int, *, stamped: bool) -> bytes:
        """The ACK to send on: `via` on top, `max_forwards`, the first `routes_taken` Route
        values gone, and the top Via written again when the transport `stamped` it."""
        out = [self._lines[0], f"Via: {via}"]
        taken = routes_taken
        for i, line in enumerate(self._lines):
            if i == 0:
                continue
            if i == self._via_at and stamped:
                line = f"Via: {self.top_via}"
            elif i == self._max_forwards_at:
                line = f"Max-Forwards: {max_forwards}"
            elif taken and i in self._route_values:
                values = self._route_values[i]
                dropped = min(taken, len(values))
                taken -= dropped
                if dropped == len(values):
                    continue
                line = "Route: " + ", ".join(values[dropped:])
            out.append(line)
        if self._max_forwards_at is None:
            out.append(f"Max-Forwards: {max_forwards}")
        head = "\r\n".join(out) + "\r\n\r\n"
        return head.encode("utf-8", "surrogateescape") + self._body


def peek_dialog_ack(data: bytes) -> DialogAck | None:
    """The ACK in `data` when it is in the usual form, with a Content-Length its body fills;
    else None. Whether it is the ACK of a 2xx (not of a transaction's final response) is for
    the caller to tell, from its top Via."""
    if data[:4] != b"ACK ":
        return None
    lines = _usual_lines(data)
    if lines is None:
        return None
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != SIP_VERSION:
        return None
    via_at: int | None = None
    top_via = ""
    route_values: dict[int, list[str]] = {}
    max_forwards_at: int | None = None
    single: dict[str, str] = {}
    for i, line in enumerate(lines):
        if i == 0:
            continue
        name, colon, value = line.partition(":")
        key = field_key(name) if colon else None
        if key is None:
            return None
        value = value.strip(WHITESPACE)
        if key == "via":
            if via_at is None:
                via_at, top_via = i, value
        elif key == "route":
            route_values[i] = [item for item in split_unquoted(value, ",") if item]
        elif key in _SINGLE:
            if key in single:
                return None
            single[key] = value
            if key == "max-forwards":
                max_forwards_at = i
    if via_at is None or "," in top_via or not _COPIED.issubset(single):
        return None
    cseq = single["cseq"].split()
    length = single.get("content-length", "")
    max_forwards = single.get("max-forwards")
    if len(cseq) != 2 or cseq[1] != "ACK" or not is_digits(length) or len(length) > 9:
        return None
    if max_forwards is not None and (not is_digits(max_forwards) or len(max_forwards) > 9):
        return None
    start = data.find(b"\r\n\r\n") + 4
    body = data[start : start + int(length)]
    if len(body) < int(length):
        return None
    try:
        via = parse_via(top_via)
    except SipError:
        return None
    return DialogAck(
        lines,
        body,
        parts[1],
        via,
        via_at,
        route_values,
        int(max_forwards) if max_forwards is not None else None,
        max_forwards_at,
    )


def is_refusal_ack(data: bytes) -> bool:
    """Is this the ACK of a stateless refusal (its To tag ours)? It ends here (§8.2.7). Every
    ACK is asked, so a scan of the bytes answers most of them."""
    if data[:4] != b"ACK " or _REFUSAL_TAG not in data:
        return False
    head = data.partition(b"\r\n\r\n")[0].decode("utf-8", "surrogateescape")
    to: str | None = None
    for line in head.replace("\r\n", "\n").split("\n")[1:]:
        if line[:1] in (" ", "\t"):
            if to is not None:
                to += " " + line.strip(WHITESPACE)  # folded (§7.3.1)
            continue
        if to is not None:
            break
        name, _, value = line.partition(":")
        if header_key(name.rstrip(WHITESPACE)) == "to":
            to = value.strip(WHITESPACE)
    if to is None:
        return False
    try:
        tag = parse_name_addr(to).tag
    except SipError:
        return False
    return tag is not None and tag.startswith(REFUSAL_TAG_PREFIX)
