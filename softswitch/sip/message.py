"""SIP requests and responses: parsing from bytes, lazy access to headers, serializing.

A message keeps its header fields as written, in order; structured values (Via, From, To,
CSeq, Contact, the Request-URI) are parsed on first use and cached. Parsing a datagram costs a
split of the header lines and a look at what every element needs (§8.1.1): for a request the
Request-URI and the Via, From, To, Call-ID and CSeq headers; for a response, which is matched
to its transaction and passed on, only the top Via, Call-ID and CSeq. A decision that needs
three more headers pays for those three.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .address import CSeq, NameAddr, Via, parse_cseq, parse_name_addr, parse_via
from .errors import ParseError, SipError
from .grammar import WHITESPACE, is_crlf_only, is_digits, is_token, split_unquoted
from .headers import LIST_HEADERS, canonical_name, header_key
from .status import reason_phrase
from .uri import URI, SipURI, parse_uri

SIP_VERSION = "SIP/2.0"
MAX_HEADER_FIELDS = 256

# One header field: (lookup key, name as written, value). A tuple of strings: the collector
# stops tracking it, which matters when thousands of messages wait in transactions.
Field = tuple[str, str, str]


class Message:
    """What requests and responses share: header fields and a body."""

    __slots__ = ("_cache", "_field_list", "_lines", "_packed", "body")

    def __init__(self, fields: list[Field] | None = None, body: bytes = b"") -> None:
        # The fields, or None while they are kept packed in `_packed` (see `forget_parsed`).
        self._field_list: list[Field] | None = fields if fields is not None else []
        self._packed = ""
        self._cache: dict[str, object] = {}
        self.body = body
        # A received response's head lines, one per field, while no field has been edited:
        # what relaying it from its own text needs (`without_top_via`).
        self._lines: list[str] | None = None

    @property
    def _fields(self) -> list[Field]:
        fields = self._field_list
        if fields is None:
            fields = self._field_list = _unpack_fields(self._packed)
            self._packed = ""
        return fields

    # -- raw header access -------------------------------------------------------------------

    def header(self, name: str) -> str | None:
        """The value of the first field named `name` (any spelling, compact or long)."""
        key = header_key(name)
        for field in self._fields:
            if field[0] == key:
                return field[2]
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of `name`: list headers split at commas across all their lines."""
        key = header_key(name)
        values = [field[2] for field in self._fields if field[0] == key]
        if key in LIST_HEADERS:
            return [item for value in values for item in split_unquoted(value, ",") if item]
        return values

    def has(self, name: str) -> bool:
        key = header_key(name)
        return any(field[0] == key for field in self._fields)

    def fields(self) -> Iterator[tuple[str, str]]:
        """(name as written, value) of every field, in order."""
        for field in self._fields:
            yield field[1], field[2]

    def add_header(self, name: str, value: str, *, first: bool = False) -> None:
        """Add a field; `first` puts it above the others of its name (Via, Record-Route)."""
        key = header_key(name)
        field = (key, canonical_name(key) if name.lower() == key else name, value)
        self._invalidate(key)
        if first:
            for i, existing in enumerate(self._fields):
                if existing[0] == key:
                    self._fields.insert(i, field)
                    return
            self._fields.insert(0 if key == "via" else len(self._fields), field)
        else:
            self._fields.append(field)

    def set_header(self, name: str, value: str) -> None:
        """Replace every field of this name with one, kept where the first one was."""
        key = header_key(name)
        self._invalidate(key)
        for i, field in enumerate(self._fields):
            if field[0] == key:
                self._fields[i] = (key, field[1], value)
                self._fields[i + 1 :] = [f for f in self._fields[i + 1 :] if f[0] != key]
                return
        self._fields.append((key, canonical_name(key), value))

    def remove_header(self, name: str) -> None:
        key = header_key(name)
        self._invalidate(key)
        self._field_list = [f for f in self._fields if f[0] != key]

    def forget_parsed(self) -> None:
        """Drop the parsed values and pack the fields into one string (both are read again on
        demand): for a message kept only in case it is needed again, such as one held by a
        transaction that waits out its timers. A call's messages wait 32 s after it; packed,
        each takes a string instead of a list of tuples of strings, about a third.
        """
        self._cache.clear()
        self._lines = None
        fields = self._field_list
        if fields:
            packed = _pack_fields(fields)
            if packed is not None:
                self._packed = packed
                self._field_list = None

    def _invalidate(self, key: str) -> None:
        """Forget what was parsed from the fields named `key`."""
        self._lines = None
        cache = self._cache
        if cache:
            cache.pop(key, None)
            cache.pop("@list:" + key, None)
            if key == "via":
                cache.pop("@top:via", None)

    def pop_first_value(self, name: str) -> str | None:
        """Remove and return the topmost value of a list header (the top Via, the first Route).

        The same value `header_values(name)[0]` names; a field left empty is removed. What
        was parsed from the rest of the header is kept."""
        key = header_key(name)
        cache = self._cache
        parsed = cache.get(key) if key == "via" else None  # Contact's list leaves out a "*"
        listed = cache.get("@list:" + key)
        self._invalidate(key)
        i = 0
        while i < len(self._fields):
            field = self._fields[i]
            if field[0] != key:
                i += 1
                continue
            items = [item for item in split_unquoted(field[2], ",") if item]
            if len(items) <= 1:
                del self._fields[i]
            else:
                self._fields[i] = (key, field[1], ", ".join(items[1:]))
            if items:
                if isinstance(parsed, list) and parsed:
                    cache[key] = parsed[1:]
                if listed:
                    cache["@list:" + key] = listed[1:]  # type: ignore[index]
                return items[0]
        return None

    def push_via(self, via: Via) -> None:
        """Put `via` on top of the Vias (a request we forward), keeping it parsed."""
        self.add_header("Via", str(via), first=True)
        self._cache["@top:via"] = via

    def replace_first_value(self, name: str, value: str) -> None:
        """Replace the topmost value of a list header in place; what was parsed from the
        header is forgotten."""
        key = header_key(name)
        for i, field in enumerate(self._fields):
            if field[0] == key:
                items = [item for item in split_unquoted(field[2], ",") if item]
                joined = value if len(items) <= 1 else ", ".join([value, *items[1:]])
                self._fields[i] = (key, field[1], joined)
                self._invalidate(key)
                return
        raise KeyError(name)

    def top_via_edited(self) -> None:
        """The parsed top Via was changed in place (`received`, `rport`): write it back."""
        top = self.top_via
        for i, field in enumerate(self._fields):
            if field[0] == "via":
                value = field[2]
                rest = split_unquoted(value, ",")[1:] if "," in value else []
                joined = ", ".join([str(top), *(item for item in rest if item)])
                self._fields[i] = ("via", field[1], joined)
                self._cache.pop("@list:via", None)
                self._lines = None
                return

    # -- parsed values -----------------------------------------------------------------------

    @property
    def vias(self) -> list[Via]:
        cache = self._cache
        vias = cache.get("via")
        if vias is None:
            values = self.header_values("via")
            top = cache.get("@top:via")
            if top is not None and values:  # the top one, parsed (and maybe stamped) before
                vias = [top, *(parse_via(v) for v in values[1:])]
            else:
                vias = [parse_via(v) for v in values]
            cache["via"] = vias
        return vias  # type: ignore[return-value]

    @property
    def top_via(self) -> Via:
        """The topmost Via, parsed alone: what a response needs to find its transaction."""
        cache = self._cache
        vias = cache.get("via")
        if vias is not None:
            if not vias:
                raise ParseError("no Via")
            return vias[0]  # type: ignore[index, no-any-return]
        top = cache.get("@top:via")
        if top is None:
            value = self._first_value("via")
            if value is None:
                raise ParseError("no Via")
            top = cache["@top:via"] = parse_via(value)
        return top  # type: ignore[return-value]

    def first_value(self, name: str) -> str | None:
        """The first item of a list header (`header_values(name)[0]`), or None."""
        return self._first_value(header_key(name))

    def _first_value(self, key: str) -> str | None:
        """The first item of a list header (`header_values(key)[0]`) without splitting them all."""
        for field in self._fields:
            if field[0] == key:
                value = field[2]
                if "," not in value:
                    if value:
                        return value
                    continue
                for item in split_unquoted(value, ","):
                    if item:
                        return item
        return None

    @property
    def call_id(self) -> str:
        value = self._cache.get("call-id")
        if value is None:
            value = self.header("call-id")
            if value is None:
                raise ParseError("no Call-ID")
            self._cache["call-id"] = value
        return value  # type: ignore[return-value]

    @property
    def cseq(self) -> CSeq:
        cseq = self._cache.get("cseq")
        if cseq is None:
            value = self.header("cseq")
            if value is None:
                raise ParseError("no CSeq")
            cseq = self._cache["cseq"] = parse_cseq(value)
        return cseq  # type: ignore[return-value]

    @property
    def from_addr(self) -> NameAddr:
        return self._name_addr("from")

    @property
    def to_addr(self) -> NameAddr:
        return self._name_addr("to")

    def _name_addr(self, key: str) -> NameAddr:
        addr = self._cache.get(key)
        if addr is None:
            value = self.header(key)
            if value is None:
                raise ParseError(f"no {canonical_name(key)}")
            addr = self._cache[key] = parse_name_addr(value)
        return addr  # type: ignore[return-value]

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; a `Contact: *` is not a NameAddr, see `is_wildcard_contact`."""
        contacts = self._cache.get("contact")
        if contacts is None:
            contacts = [parse_name_addr(v) for v in self.header_values("contact") if v != "*"]
            self._cache["contact"] = contacts
        return contacts  # type: ignore[return-value]

    @property
    def is_wildcard_contact(self) -> bool:
        return "*" in self.header_values("contact")

    def address_list(self, name: str) -> list[NameAddr]:
        """Route, Record-Route, Path: every entry in order."""
        key = header_key(name)
        cached = self._cache.get("@list:" + key)
        if cached is None:
            cached = [parse_name_addr(v) for v in self.header_values(key)]
            self._cache["@list:" + key] = cached
        return cached  # type: ignore[return-value]

    def int_header(self, name: str) -> int | None:
        """A header whose value is a non-negative integer (Expires, Max-Forwards, Min-Expires)."""
        value = self.header(name)
        if value is None:
            return None
        value = value.strip(WHITESPACE)
        if not is_digits(value) or len(value) > 10:
            raise ParseError(f"bad {canonical_name(header_key(name))} value {value!r}")
        return int(value)

    @property
    def max_forwards(self) -> int | None:
        return self.int_header("max-forwards")

    @property
    def expires(self) -> int | None:
        return self.int_header("expires")

    # -- bytes -------------------------------------------------------------------------------

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        lines = [self._start_line()]
        for key, name, value in self._fields:
            if key != "content-length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("utf-8", "surrogateescape") + self.body

    def __bytes__(self) -> bytes:
        return self.to_bytes()

    def copy_fields(self) -> list[Field]:
        return self._fields.copy()  # the fields themselves are immutable


class Request(Message):
    __slots__ = ("method", "uri", "version")

    def __init__(
        self,
        method: str,
        uri: str | URI,
        fields: list[Field] | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(fields, body)
        self.method = method
        self.uri = str(uri)
        self.version = version

    @property
    def request_uri(self) -> URI:
        uri = self._cache.get("@ruri")
        if uri is None:
            uri = self._cache["@ruri"] = parse_uri(self.uri)
        return uri  # type: ignore[return-value]

    def set_uri(self, uri: str | URI) -> None:
        self.uri = str(uri)
        self._cache.pop("@ruri", None)

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {self.version}"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    __slots__ = ("reason", "status", "version")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        fields: list[Field] | None = None,
        body: bytes = b"",
        version: str = SIP_VERSION,
    ) -> None:
        super().__init__(fields, body)
        self.status = status
        self.reason = reason if reason is not None else reason_phrase(status)
        self.version = version

    def _start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    def without_top_via(self) -> bytes | None:
        """What a proxy sends upstream (§16.7 step 9) written from the received text: every
        line as it came but the top Via's. None when the top Via shares its line with another
        value, there is no Content-Length, or the response was not received in the usual form
        or has been edited since."""
        lines = self._lines
        if lines is None:
            return None
        via_at = -1
        length = False
        for i, field in enumerate(self._fields):
            key = field[0]
            if key == "via" and via_at < 0:
                if "," in field[2]:
                    return None
                via_at = i + 1  # the start line comes first
            elif key == "content-length":
                length = True
        if via_at < 0 or not length:
            return None
        head = "\r\n".join(lines[:via_at] + lines[via_at + 1 :])
        return (head + "\r\n\r\n").encode("utf-8", "surrogateescape") + self.body

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


# Headers a response copies from its request (§8.2.6.2).
_COPIED_TO_RESPONSE = frozenset({"via", "from", "to", "call-id", "cseq"})


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to `request` with Via, From, To, Call-ID and CSeq copied (§8.2.6.2).

    `to_tag` is added to To when the request's To has none (a UAS's or a stateful element's own
    final responses); a 100 Trying never gets one.
    """
    fields: list[Field] = []
    copied: set[str] = set()
    for field in request._fields:
        key = field[0]
        if key == "via" or (key in _COPIED_TO_RESPONSE and key not in copied):
            fields.append(field)
            copied.add(key)
    if to_tag is not None and status > 100:
        for i, field in enumerate(fields):
            if field[0] == "to":
                if _to_tag_missing(request):
                    fields[i] = (field[0], field[1], f"{field[2]};tag={to_tag}")
                break
    if status == 100:
        timestamp = request.header("timestamp")
        if timestamp is not None:
            fields.append(("timestamp", "Timestamp", timestamp))
    response = Response(status, reason, fields, body)
    for name, value in headers:
        response.add_header(name, value)
    return response


def _to_tag_missing(request: Request) -> bool:
    try:
        return request.to_addr.tag is None
    except SipError:
        return False  # a To we cannot read (the 400 about it) is copied as it came


# -- parsing --------------------------------------------------------------------------------


def parse_message(data: bytes, *, datagram: bool = True) -> Request | Response:
    """Parse one message. Raises ParseError (with the partial request where one was readable).

    `datagram`: the bytes are a whole UDP packet, so a missing Content-Length means "to the end"
    and bytes past Content-Length are discarded (§18.3); on a stream the framer has already cut
    the message at Content-Length.
    """
    end = data.find(b"\r\n\r\n")
    sep_len = 4
    if end < 0:
        end = data.find(b"\n\n")
        sep_len = 2
        if end < 0:
            raise ParseError("no empty line after the headers")
    head = data[:end].decode("utf-8", "surrogateescape")
    body = data[end + sep_len :]
    lines = head.split("\r\n")
    # every line ends in CRLF, with no other CR or LF: the usual head, read by the fast loop
    regular = is_crlf_only(head)
    if not regular:
        lines = head.split("\n")
    start = lines[0].rstrip("\r")
    try:
        message = _parse_start_line(start)
    except ParseError as bad_start:
        answer = _request_to_answer(start, lines)
        raise ParseError(bad_start.reason, answer, bad_start.status) from None
    message._field_list = _parse_fields(lines) if regular else _parse_fields_slowly(lines)
    try:
        if len(message._fields) > MAX_HEADER_FIELDS:
            raise ParseError(f"more than {MAX_HEADER_FIELDS} header fields")
        message.body = _cut_body(message, body, datagram)
        _check_required(message)
    except SipError as err:
        partial = message if isinstance(message, Request) and _answerable(message) else None
        raise ParseError(err.reason, partial, err.status) from None
    if regular and type(message) is Response and len(message._fields) == len(lines) - 1:
        message._lines = lines  # one line per field (none folded): see `without_top_via`
    return message


# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT, case-insensitive (§7.1)
_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE | re.ASCII)


def _parse_start_line(line: str) -> Request | Response:
    if "\r" in line:
        raise ParseError("CR inside the start line")
    if line[:4].upper() == "SIP/":
        version, _, rest = line.partition(" ")
        code, _, reason = rest.partition(" ")
        if version.upper() != SIP_VERSION:
            raise ParseError(f"unsupported version {version[:20]!r}")
        if len(code) != 3 or not is_digits(code) or not 100 <= int(code) <= 699:
            raise ParseError(f"bad status code {code[:20]!r}")
        return Response(int(code), reason.strip(WHITESPACE))
    # Request-Line = Method SP Request-URI SP SIP-Version: single spaces, no LWS (§7.1,
    # RFC 4475 §3.1.2.8 to §3.1.2.10). The Request-URI itself is checked with the headers.
    parts = line.split(" ")
    if len(parts) != 3:
        raise ParseError(f"bad request line {line[:80]!r}")
    method, uri, version = parts
    if not is_token(method):
        raise ParseError(f"bad method {method[:40]!r}")
    if not _VERSION_RE.fullmatch(version):
        raise ParseError(f"bad request line {line[:80]!r}")
    if version.upper() == SIP_VERSION:
        version = SIP_VERSION
    return Request(method, uri, version=version)  # another version is answered 505 below


def _request_to_answer(start: str, lines: list[str]) -> Request | None:
    """For a request line we cannot read (RFC 4475 §3.1.2.7 to §3.1.2.10): a request to build
    the 400 from, when its method and the headers a response copies are readable."""
    method = start.replace("\t", " ").split(" ", 1)[0]
    if start[:4].upper() == "SIP/" or not is_token(method):
        return None
    request = Request(method, "")
    try:
        request._field_list = _parse_fields_slowly(lines)
    except SipError:
        return None
    return request if _answerable(request) else None


# Header names as written (before the colon) to (key, name): the same few spellings arrive in
# every message, and a name found here has been checked to be a token once.
_FIELD_NAMES: dict[str, tuple[str, str]] = {}
_MAX_FIELD_NAMES = 4096  # chosen by peers: a bound, so invented names cannot grow it


def field_key(written: str) -> str | None:
    """The lookup key of a header name as written before its colon, or None when it is not a
    token (a folded line, a space inside)."""
    entry = _FIELD_NAMES.get(written)
    if entry is not None:
        return entry[0]
    name = written.rstrip(WHITESPACE)
    if not is_token(name):
        return None
    key = header_key(name)
    if len(_FIELD_NAMES) < _MAX_FIELD_NAMES:
        _FIELD_NAMES[written] = (key, name)
    return key


def _parse_fields(lines: list[str]) -> list[Field]:
    """The header fields of the lines of a head split at CRLF (the start line first), when
    the head has no other CR or LF."""
    fields: list[Field] = []
    known = _FIELD_NAMES
    for raw in lines[1:]:
        # the usual line: `Name: value`, a name seen before (so not a folded line)
        name, _, value = raw.partition(":")
        entry = known.get(name)
        if entry is None:
            return _parse_fields_slowly(lines)
        fields.append((entry[0], entry[1], value.strip(WHITESPACE)))
    return fields


def _parse_fields_slowly(lines: list[str]) -> list[Field]:
    """Every line form of §7.3.1: folding, bare LF line ends, names not seen before. `lines`
    are split at LF (each may end in its CR) or at CRLF."""
    fields: list[Field] = []
    for raw in lines[1:]:
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line:
            continue
        if "\r" in line:
            raise ParseError(f"CR inside a header line: {line[:60]!r}")  # §7.3.1: only CRLF
        if line[0] in WHITESPACE:
            if not fields:
                raise ParseError("continuation line before the first header")
            # LWS folding (§7.3.1): the line break and the whitespace are one SP
            previous = fields[-1]
            folded = line.strip(WHITESPACE)
            joined = f"{previous[2]} {folded}" if previous[2] else folded
            fields[-1] = (previous[0], previous[1], joined)
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ParseError(f"header line without a colon: {line[:60]!r}")
        written = name
        name = name.rstrip(WHITESPACE)
        if not is_token(name):
            raise ParseError(f"bad header name {name[:60]!r}")
        key = header_key(name)
        if len(_FIELD_NAMES) < _MAX_FIELD_NAMES:
            _FIELD_NAMES[written] = (key, name)
        fields.append((key, name, value.strip(WHITESPACE)))
    return fields


def _pack_fields(fields: list[Field]) -> str | None:
    """The fields' keys, names and values in one string, one to a line, or None when one of
    them holds a line break and could not be read back the same."""
    parts: list[str] = []  # a list, so that join need not copy an iterator's items into one
    for key, name, value in fields:
        parts.append(key)
        parts.append(name)
        parts.append(value)
    packed = "\n".join(parts)
    return packed if packed.count("\n") == len(parts) - 1 else None


def _unpack_fields(packed: str) -> list[Field]:
    parts = packed.split("\n")
    return list(zip(parts[0::3], parts[1::3], parts[2::3], strict=True))


def _cut_body(message: Message, body: bytes, datagram: bool) -> bytes:
    length_text = message.header("content-length")
    if length_text is None:
        if datagram:
            return body
        raise ParseError("no Content-Length on a stream transport")
    length_text = length_text.strip(WHITESPACE)
    if not is_digits(length_text) or len(length_text) > 9:
        raise ParseError(f"bad Content-Length {length_text[:20]!r}")
    length = int(length_text)
    if len(body) < length:
        raise ParseError(f"Content-Length {length} is larger than the {len(body)} body bytes")
    return body[:length]


# Header fields a message carries at most once (§7.3.1: only list headers may repeat;
# RFC 4475 §3.3.9 multi01, §3.3.10 mcl01).
_SINGLE = frozenset({"call-id", "cseq", "from", "to", "max-forwards", "content-length"})


def _check_required(message: Message) -> None:
    """The fields every element needs (§8.1.1): Via, Call-ID, CSeq, From, To, none of them (nor
    Max-Forwards and Content-Length) twice. A request's are all parsed, and its Request-URI;
    a response's top Via, Call-ID and CSeq."""
    if isinstance(message, Request) and message.version != SIP_VERSION:
        raise SipError(f"unsupported version {message.version!r}", 505)  # §21.5.20
    seen: set[str] = set()
    for field in message._fields:
        key = field[0]
        if key in _SINGLE:
            if key in seen:
                raise ParseError(f"more than one {canonical_name(key)}")
            seen.add(key)
    if not isinstance(message, Request):
        # A response is matched by its top Via and CSeq (§17.1.3) and otherwise passed on as
        # it came: From and To must be there, and are read (and checked) by whoever needs them.
        message.top_via  # noqa: B018
        if not message.call_id:
            raise ParseError("empty Call-ID")
        message.cseq  # noqa: B018
        for key in ("from", "to"):
            if key not in seen:
                raise ParseError(f"no {canonical_name(key)}")
        return
    if not message.vias:
        raise ParseError("no Via")
    if not message.call_id:
        raise ParseError("empty Call-ID")
    cseq = message.cseq
    if cseq.method != message.method:
        raise ParseError(f"CSeq method {cseq.method} does not match {message.method}")
    uri = message.request_uri
    if isinstance(uri, SipURI) and uri.headers:
        # headers are not allowed in a Request-URI (§19.1.1, RFC 4475 §3.1.2.11)
        raise ParseError(f"headers in the Request-URI {message.uri[:80]!r}")
    message.from_addr  # noqa: B018 - parse now, so a broken From is a 400 here and not later
    message.to_addr  # noqa: B018
    if message.header("max-forwards") is not None:
        message.max_forwards  # noqa: B018


def _answerable(request: Request) -> bool:
    """Can a 400 be built for it: a top Via to send it to, a Call-ID, and a CSeq, From and To
    to copy? Those three may be what is wrong with it (RFC 4475 §3.1.2.4, §3.1.2.6): a
    response copies them as they came."""
    try:
        request.top_via  # noqa: B018
    except SipError:
        return False
    return all(request.header(name) for name in ("call-id", "cseq", "from", "to"))
