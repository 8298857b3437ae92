"""Properties of the message layer, checked with generated messages and arbitrary bytes:

- a message built with the API, written with `to_bytes()` and parsed back, has the same start
  line, header values and body;
- writing a parsed message is a fixed point: parse(bytes(m)).to_bytes() == bytes(m);
- on any input, `parse_message`, the accessors of what it returns and the stream framer either
  succeed or raise SipError (ParseError, FramingError), never anything else.
"""

from __future__ import annotations

import contextlib
import os
import string

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from softswitch.sip import (
    NameAddr,
    Request,
    Response,
    SipError,
    SipURI,
    StreamFramer,
    Via,
    parse_message,
    parse_name_addr,
    parse_uri,
    uri_equal,
)
from softswitch.sip.message import Message

# SIP_PROPERTY_EXAMPLES=5000 for a deeper run than the quick default
EXAMPLES = int(os.environ.get("SIP_PROPERTY_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# whole generated messages are slow to draw: fewer of them
MESSAGE_SETTINGS = settings(SETTINGS, max_examples=max(EXAMPLES // 4, 10))

ALNUM = string.ascii_letters + string.digits
TOKEN = ALNUM + "-.!%*_+`'~"
UNRESERVED = ALNUM + "-_.!~*'()"


def text_of(alphabet: str, min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


escapes = st.integers(0, 255).map(lambda b: f"%{b:02X}")


def escaped_text(alphabet: str, max_size: int = 10) -> st.SearchStrategy[str]:
    return st.lists(
        st.one_of(st.sampled_from(alphabet), escapes), min_size=1, max_size=max_size
    ).map("".join)


labels = text_of(string.ascii_lowercase + string.digits, 1, 10)
domains = st.lists(labels, min_size=1, max_size=4).map(".".join)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda ip: f"[{ip}]")
hosts = st.one_of(domains, ipv4, ipv6)
ports = st.one_of(st.none(), st.integers(1, 65535))
users = escaped_text(UNRESERVED + "&=+$,;?/")
passwords = st.one_of(st.none(), escaped_text(UNRESERVED + "&=+$,", 6))
param_names = text_of(string.ascii_lowercase + string.digits + "-_.", 1, 8)
param_values = st.one_of(st.none(), text_of(UNRESERVED + "[]/:&+$", 1, 10))
uri_params = st.dictionaries(param_names, param_values, max_size=4)
uri_headers = st.dictionaries(
    text_of(ALNUM, 1, 8), text_of(UNRESERVED + "[]/?:+$", 0, 10), max_size=3
)


@st.composite
def sip_uris(draw: st.DrawFn, *, headers: bool = True) -> SipURI:
    user = draw(st.one_of(st.none(), users))
    return SipURI(
        draw(hosts),
        user,
        draw(ports),
        draw(uri_params),
        draw(st.sampled_from(["sip", "sips"])),
        draw(passwords) if user is not None else None,
        draw(uri_headers) if headers else {},
    )


# Any text but CR and LF (which no quoted-string can hold) and lone surrogates.
display_names = st.one_of(
    st.none(),
    st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        min_size=1,
        max_size=16,
    ),
    text_of(TOKEN + " ", 1, 16).map(lambda s: " ".join(s.split()) or "x"),
)
header_params = st.dictionaries(
    text_of(string.ascii_lowercase + "-", 1, 8),
    st.one_of(
        st.none(),
        text_of(TOKEN, 1, 10),
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n")).map(
            lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
        ),
    ),
    max_size=3,
)


@st.composite
def name_addrs(draw: st.DrawFn) -> NameAddr:
    return NameAddr(draw(sip_uris()), draw(display_names), draw(header_params))


@st.composite
def vias(draw: st.DrawFn) -> Via:
    params: dict[str, str | None] = {"branch": "z9hG4bK" + draw(text_of(TOKEN, 1, 12))}
    if draw(st.booleans()):
        params["received"] = draw(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str))
    if draw(st.booleans()):
        params["rport"] = draw(st.one_of(st.none(), st.integers(1, 65535).map(str)))
    if draw(st.booleans()):
        params["ttl"] = str(draw(st.integers(0, 255)))
    if draw(st.booleans()):
        params["maddr"] = draw(ipv4)
    transport = draw(st.sampled_from(["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"]))
    return Via(transport, draw(hosts), draw(ports), params)


methods = st.one_of(
    st.sampled_from(["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "REFER"]),
    text_of(TOKEN, 1, 12),
)
call_ids = text_of(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}", 1, 30).filter(lambda s: s.strip())
bodies = st.binary(max_size=300)


def rows(draw: st.DrawFn, name: str, values: list[str]) -> list[tuple[str, str]]:
    """A list header as one row, one row per value, or anything in between."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(values):
        n = draw(st.integers(1, len(values) - i))
        out.append((name, ", ".join(values[i : i + n])))
        i += n
    return out


@st.composite
def common_fields(draw: st.DrawFn, method: str) -> list[tuple[str, str]]:
    fields = rows(
        draw,
        draw(st.sampled_from(["Via", "v"])),
        [str(v) for v in draw(st.lists(vias(), min_size=1, max_size=4))],
    )
    to = draw(name_addrs())
    to.params.pop("tag", None)
    fields += [
        (draw(st.sampled_from(["To", "t"])), str(to)),
        (
            draw(st.sampled_from(["From", "f"])),
            str(draw(name_addrs()).with_tag(draw(text_of(TOKEN)))),
        ),
        (draw(st.sampled_from(["Call-ID", "i"])), draw(call_ids)),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {method}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
    ]
    contacts = [str(c) for c in draw(st.lists(name_addrs(), max_size=3))]
    fields += rows(draw, draw(st.sampled_from(["Contact", "m"])), contacts)
    routes = [
        str(NameAddr(draw(sip_uris(headers=False)), None, {"lr": None}))
        for _ in range(draw(st.integers(0, 3)))
    ]
    fields += rows(draw, "Route", routes)
    if draw(st.booleans()):
        fields.append(
            ("Subject", draw(text_of(string.printable.strip() + " ", 1, 40)).strip() or "x")
        )
    return draw(st.permutations(fields))


@st.composite
def requests(draw: st.DrawFn) -> Request:
    method = draw(methods)
    uri = draw(
        st.one_of(
            sip_uris(headers=False),
            st.sampled_from(["tel:+1-201-555-0123", "urn:service:sos"]).map(parse_uri),
        )
    )
    request = Request(method, uri, body=draw(bodies))
    for name, value in draw(common_fields(method)):
        request.add_header(name, value)
    return request


reasons = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30
).map(lambda s: s.strip(" \t"))


@st.composite
def responses(draw: st.DrawFn) -> Response:
    response = Response(draw(st.integers(100, 699)), draw(reasons), body=draw(bodies))
    for name, value in draw(common_fields(draw(methods))):
        response.add_header(name, value)
    return response


messages = st.one_of(requests(), responses())


def start_line(msg: Message) -> tuple[object, ...]:
    if isinstance(msg, Request):
        return ("request", msg.method, msg.uri, msg.version)
    assert isinstance(msg, Response)
    return ("response", msg.status, msg.reason, msg.version)


def described(addr: NameAddr) -> tuple[object, ...]:
    uri = addr.uri
    assert isinstance(uri, SipURI)
    return (addr.display or None, str(uri), addr.params)


@MESSAGE_SETTINGS
@given(messages)
def test_built_messages_survive_bytes(msg: Request | Response) -> None:
    parsed = parse_message(msg.to_bytes())
    assert start_line(parsed) == start_line(msg)
    assert list(parsed.fields()) == [f for f in msg.fields()] + [
        ("Content-Length", str(len(msg.body)))
    ]
    assert parsed.body == msg.body
    for name in ("via", "contact", "route", "to", "from", "call-id", "cseq"):
        assert parsed.header_values(name) == msg.header_values(name), name
    assert [str(v) for v in parsed.vias] == [str(v) for v in msg.vias]
    assert described(parsed.to_addr) == described(msg.to_addr)
    assert described(parsed.from_addr) == described(msg.from_addr)
    assert [described(c) for c in parsed.contacts] == [described(c) for c in msg.contacts]
    assert [described(r) for r in parsed.address_list("route")] == [
        described(r) for r in msg.address_list("route")
    ]
    assert parsed.call_id == msg.call_id
    assert str(parsed.cseq) == str(msg.cseq)
    if isinstance(parsed, Request):
        assert isinstance(msg, Request)
        assert str(parsed.request_uri) == str(msg.request_uri)


@MESSAGE_SETTINGS
@given(messages)
def test_writing_a_parsed_message_is_a_fixed_point(msg: Request | Response) -> None:
    data = bytes(parse_message(msg.to_bytes()))
    assert parse_message(data).to_bytes() == data


@SETTINGS
@given(sip_uris())
def test_uris_survive_text(uri: SipURI) -> None:
    parsed = parse_uri(str(uri))
    assert isinstance(parsed, SipURI)
    assert (parsed.scheme, parsed.user, parsed.password, parsed.host, parsed.port) == (
        uri.scheme,
        uri.user,
        uri.password,
        uri.host,
        uri.port,
    )
    assert (parsed.params, parsed.headers) == (uri.params, uri.headers)
    assert str(parsed) == str(uri)
    assert uri_equal(parsed, uri)
    assert hash(parsed) == hash(uri)


@SETTINGS
@given(name_addrs())
def test_name_addrs_survive_text(addr: NameAddr) -> None:
    assert described(parse_name_addr(str(addr))) == described(addr)


# -- fuzzing: nothing but SipError ever escapes ------------------------------------------


def read_everything(msg: Message) -> None:
    """Every accessor a layer above may call on a received message."""
    for accessor in (
        lambda: msg.vias,
        lambda: msg.top_via.response_address(),
        lambda: msg.contacts,
        lambda: msg.is_wildcard_contact,
        lambda: msg.address_list("route"),
        lambda: msg.address_list("record-route"),
        lambda: msg.expires,
        lambda: msg.max_forwards,
        lambda: msg.int_header("min-expires"),
        lambda: [str(v) for v in msg.vias],
        lambda: [str(c) for c in msg.contacts],
        lambda: msg.request_uri if isinstance(msg, Request) else None,
        lambda: msg.to_bytes(),
    ):
        with contextlib.suppress(SipError):
            accessor()


def parse_or_refuse(data: bytes) -> None:
    for datagram in (True, False):
        try:
            msg = parse_message(data, datagram=datagram)
        except SipError as err:
            if err.request is not None:
                read_everything(err.request)
            continue
        read_everything(msg)
        assert parse_message(msg.to_bytes()).to_bytes() == msg.to_bytes()


@SETTINGS
@given(st.binary(max_size=600))
@example(b"")
@example(b"\r\n\r\n")
@example(b"SIP/2.0 \xc2\xb2\xc2\xb3\xc2\xb9 OK\r\n\r\n")
@example(b"INVITE sip:a@b:\xc2\xb2 SIP/2.0\r\n\r\n")
@example(b"INVITE sip:a@b SIP/2.0\r\nl: \xd9\xa3\r\n\r\n")
def test_arbitrary_bytes(data: bytes) -> None:
    parse_or_refuse(data)


FRAGMENTS = [
    b"INVITE sip:a@b SIP/2.0",
    b"SIP/2.0 200 OK",
    b"\r\n",
    b"\r\n ",
    b"\n",
    b"\r",
    b"Via: SIP/2.0/UDP h;branch=z9hG4bK1",
    b"v: SIP / 2.0 / UDP [::1]:5060 ; rport",
    b"To: <sip:b@c>",
    b'From: "x\\"y" <sip:a@b>;tag=1',
    b"f: sip:a@b;tag=",
    b"Call-ID: 1",
    b"i: ",
    b"CSeq: 1 INVITE",
    b"CSeq: \xd9\xa3 INVITE",
    b"Max-Forwards: 70",
    b"Contact: *",
    b"m: <sip:c@d>;expires=5, sip:e@f",
    b"Route: <sip:r;lr>,<",
    b"Content-Length: 3",
    b"l: 99999999999",
    b"Expires: \xc2\xb2",
    b'"',
    b"<",
    b">",
    b";",
    b",",
    b":",
    b"%",
    b"[",
    b"\xff",
    b"\x00",
    b"abc",
]


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join))
def test_sip_looking_garbage(data: bytes) -> None:
    parse_or_refuse(data)


@MESSAGE_SETTINGS
@given(messages, st.data())
def test_mutated_messages(msg: Request | Response, data: st.DataObject) -> None:
    raw = bytearray(msg.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        kind = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = data.draw(st.one_of(st.binary(min_size=1, max_size=3), st.sampled_from(FRAGMENTS)))
        if kind == "insert":
            raw[at:at] = chunk
        elif kind == "delete":
            del raw[at : at + len(chunk)]
        else:
            raw[at : at + len(chunk)] = chunk
    parse_or_refuse(bytes(raw))


@SETTINGS
@given(st.lists(st.one_of(st.binary(max_size=50), st.sampled_from(FRAGMENTS)), max_size=20))
def test_the_framer_on_arbitrary_chunks(chunks: list[bytes]) -> None:
    framer = StreamFramer(max_size=2000)
    try:
        for chunk in chunks:
            for item in framer.feed(chunk):
                parse_or_refuse(item)
    except SipError:
        pass


@MESSAGE_SETTINGS
@given(st.lists(messages, min_size=1, max_size=2), st.data())
def test_the_framer_cuts_generated_messages_anywhere(
    msgs: list[Request | Response], data: st.DataObject
) -> None:
    stream = b"".join(m.to_bytes() for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    framer = StreamFramer()
    out = [item for chunk in chunks for item in framer.feed(chunk)]
    assert out == [m.to_bytes() for m in msgs]
    assert [parse_message(item, datagram=False).body for item in out] == [m.body for m in msgs]
