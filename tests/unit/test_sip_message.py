"""Messages: parsing, the lazy header accessors, editing, serializing and `make_response`."""

from __future__ import annotations

import pytest

from softswitch.sip import (
    ParseError,
    Request,
    Response,
    SipError,
    SipURI,
    TelURI,
    Via,
    make_response,
    parse_message,
)
from softswitch.sip.headers import canonical_name, header_key

HEADERS = {
    "via": "Via: SIP/2.0/UDP pc33.atlanta.com:5060;branch=z9hG4bK776asdhds",
    "max-forwards": "Max-Forwards: 70",
    "to": "To: Bob <sip:bob@biloxi.com>",
    "from": "From: Alice <sip:alice@atlanta.com>;tag=1928301774",
    "call-id": "Call-ID: a84b4c76e66710@pc33.atlanta.com",
    "cseq": "CSeq: 314159 INVITE",
    "contact": "Contact: <sip:alice@pc33.atlanta.com>",
}


def invite(*extra: str, body: bytes = b"", without: tuple[str, ...] = (), start: str = "") -> bytes:
    """An INVITE with the usual headers (less `without`), `extra` lines, and `body`."""
    lines = [start or "INVITE sip:bob@biloxi.com SIP/2.0"]
    lines += [line for key, line in HEADERS.items() if key not in without]
    lines += extra
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def parse_request(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def parse_response(data: bytes) -> Response:
    message = parse_message(data)
    assert isinstance(message, Response)
    return message


def refused(data: bytes, **kwargs: bool) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_message(data, **kwargs)
    return info.value


# -- header lines --------------------------------------------------------------------------


def test_folding_over_several_lines_with_spaces_and_tabs() -> None:
    msg = parse_request(
        invite(
            "Subject: one",
            "  two",
            "\tthree",
            " \t four",
            "X-Empty:",
            "  late value",
        )
    )
    assert msg.header("subject") == "one two three four"
    assert msg.header("x-empty") == "late value"
    assert b"Subject: one two three four\r\n" in msg.to_bytes()


def test_folding_inside_structured_values() -> None:
    msg = parse_request(
        invite(
            "Route: <sip:p1.example.com;lr>,",
            " <sip:p2.example.com;lr>",
            without=("via",),
            start="INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\t[2001:db8::1]\r\n"
            " :5062;branch=z9hG4bKfold\r\n ;rport",
        )
    )
    via = msg.top_via
    assert (via.host, via.port, via.branch, via.has_rport) == (
        "[2001:db8::1]",
        5062,
        "z9hG4bKfold",
        True,
    )
    assert [str(r.uri) for r in msg.address_list("route")] == [
        "sip:p1.example.com;lr",
        "sip:p2.example.com;lr",
    ]


def test_a_continuation_line_before_any_header_is_refused() -> None:
    data = b"OPTIONS sip:a@b SIP/2.0\r\n folded\r\n" + invite().split(b"\r\n", 1)[1]
    assert refused(data).request is None


@pytest.mark.parametrize(
    ("rows", "one_line"),
    [
        (
            [
                "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1",
                "Via: SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2;received=192.0.2.7",
            ],
            "Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, "
            "SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bK2;received=192.0.2.7",
        ),
        (
            ['Contact: "Doe, John" <sip:jd@x.example.com>;q=0.5', "Contact: <sip:k@y.example.com>"],
            'Contact: "Doe, John" <sip:jd@x.example.com>;q=0.5,<sip:k@y.example.com>',
        ),
        (
            ["Route: <sip:a.example.com;lr>", "Route: <sip:b.example.com;lr>"],
            "Route: <sip:a.example.com;lr> ,  <sip:b.example.com;lr>",
        ),
    ],
    ids=["Via", "Contact", "Route"],
)
def test_rows_and_comma_lists_give_the_same_values(rows: list[str], one_line: str) -> None:
    name = rows[0].split(":")[0].lower()
    without = ("via",) if name == "via" else (name,)
    a = parse_request(invite(*rows, without=without))
    b = parse_request(invite(one_line, without=without))
    assert a.header_values(name) == b.header_values(name)
    assert len(a.header_values(name)) == 2
    if name == "via":
        assert [str(v) for v in a.vias] == [str(v) for v in b.vias]
    else:
        assert [str(x) for x in a.address_list(name)] == [str(x) for x in b.address_list(name)]


COMPACT = [
    ("v", "via", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKcompact"),
    ("f", "from", "<sip:alice@atlanta.com>;tag=88"),
    ("t", "to", "<sip:bob@biloxi.com>"),
    ("i", "call-id", "compact@atlanta.com"),
    ("m", "contact", "<sip:alice@192.0.2.1>"),
    ("l", "content-length", "4"),
    ("c", "content-type", "text/plain"),
    ("k", "supported", "100rel, timer"),
    ("s", "subject", "lunch"),
    ("e", "content-encoding", "gzip"),
]


def test_compact_forms_are_read_through_long_names() -> None:
    lines = ["MESSAGE sip:bob@biloxi.com SIP/2.0", "CSeq: 1 MESSAGE", "Max-Forwards: 70"]
    lines += [f"{short}: {value}" for short, _, value in COMPACT]
    msg = parse_request(("\r\n".join(lines) + "\r\n\r\nbody").encode())
    for short, long, value in COMPACT:
        assert msg.header(long) == value, long
        assert msg.header(short) == value, short
        assert msg.header(short.upper()) == value, short
        assert msg.has(long)
    assert msg.header_values("supported") == ["100rel", "timer"]
    assert msg.call_id == "compact@atlanta.com"
    assert msg.from_addr.tag == "88"
    assert msg.body == b"body"
    # the names are kept as written
    assert [name for name, _ in msg.fields()][2:5] == ["v", "f", "t"]


def test_header_names_are_case_insensitive() -> None:
    msg = parse_request(invite("x-CUSTOM-header: 1", "X-Custom-Header: 2"))
    assert msg.header("X-Custom-Header") == "1"
    assert msg.header_values("x-custom-header") == ["1", "2"]
    assert msg.header("CALL-id") == msg.header("call-ID") == "a84b4c76e66710@pc33.atlanta.com"
    assert msg.header("no-such-header") is None
    assert msg.header_values("no-such-header") == []
    assert not msg.has("no-such-header")


def test_unknown_headers_are_never_split_at_commas() -> None:
    msg = parse_request(invite("Date: Sat, 13 Nov 2010 23:29:00 GMT", "X-List: a, b"))
    assert msg.header_values("date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert msg.header_values("x-list") == ["a, b"]


def test_authorization_rows_are_not_split_at_their_commas() -> None:
    credentials = 'Digest username="bob", realm="biloxi.com", nonce="n", uri="sip:b", response="r"'
    msg = parse_request(invite(f"Authorization: {credentials}", "Authorization: Other x=1, y=2"))
    assert msg.header_values("authorization") == [credentials, "Other x=1, y=2"]


def test_contact_display_names_with_escaped_quotes_and_commas() -> None:
    msg = parse_request(
        invite(
            r'Contact: "Doe, John \"JD\" \\ Jr." <sip:jd@x.example.com>;q=0.7,'
            r' "a,b" <sip:ab@y.example.com>, sip:plain@z.example.com;expires=60',
            without=("contact",),
        )
    )
    assert len(msg.header_values("contact")) == 3
    first, second, third = msg.contacts
    assert first.display == 'Doe, John "JD" \\ Jr.'
    assert first.params == {"q": "0.7"}
    assert second.display == "a,b"
    assert (third.display, str(third.uri), third.params) == (
        None,
        "sip:plain@z.example.com",
        {"expires": "60"},
    )
    assert str(first) == r'"Doe, John \"JD\" \\ Jr." <sip:jd@x.example.com>;q=0.7'


def test_wildcard_contact() -> None:
    msg = parse_request(invite("Contact: *", "Expires: 0", without=("contact",)))
    assert msg.is_wildcard_contact
    assert msg.contacts == []
    assert msg.expires == 0


def test_non_utf8_bytes_in_a_header_value_round_trip() -> None:
    data = invite("Subject: caf\xe9".encode("latin-1").decode("latin-1"), "X-Raw: x")
    data = data.replace(b"X-Raw: x", b"X-Raw: \xff\xfe\x80 \xc3\x28")
    msg = parse_request(data)
    assert msg.header("x-raw") is not None
    assert msg.to_bytes() == data
    assert parse_message(msg.to_bytes()).to_bytes() == data


def test_non_utf8_bytes_in_a_display_name_round_trip() -> None:
    data = invite().replace(b"To: Bob <", b'To: "B\xf6b" <')
    msg = parse_request(data)
    assert msg.to_addr.display is not None
    assert msg.to_bytes() == data
    assert parse_request(msg.to_bytes()).to_addr.display == msg.to_addr.display


def test_a_lone_cr_inside_a_header_line_is_refused() -> None:
    assert refused(invite("Subject: a\rInjected: b")).status == 400


def test_bare_lf_line_ends_are_accepted() -> None:
    msg = parse_request(invite().replace(b"\r\n", b"\n"))
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.com"


# -- required headers and framing ---------------------------------------------------------


@pytest.mark.parametrize("missing", ["via", "call-id", "cseq", "from", "to"])
def test_a_request_without_a_required_header_is_refused_unanswered(missing: str) -> None:
    err = refused(invite(without=(missing,)))
    assert err.status == 400
    # a response copies Via, Call-ID, CSeq, From and To: without one it cannot be built
    assert err.request is None


@pytest.mark.parametrize("missing", ["via", "call-id", "cseq", "from", "to"])
def test_a_response_without_a_required_header_is_refused(missing: str) -> None:
    request = parse_request(invite())
    response = make_response(request, 180, to_tag="x")
    response.remove_header(missing)
    err = refused(response.to_bytes())
    assert err.request is None


def test_an_empty_call_id_is_refused() -> None:
    data = invite().replace(b"Call-ID: a84b4c76e66710@pc33.atlanta.com", b"Call-ID: ")
    assert refused(data).request is None


def test_content_length_larger_than_the_body_is_answered_400() -> None:
    data = invite(body=b"0123456789")[:-4]
    err = refused(data)
    assert err.status == 400
    assert "Content-Length" in err.reason
    assert isinstance(err.request, Request)
    assert err.request.call_id == "a84b4c76e66710@pc33.atlanta.com"
    response = make_response(err.request, 400, err.reason, to_tag="t")
    assert response.to_addr.tag == "t"


def test_bytes_after_content_length_in_a_datagram_are_discarded() -> None:
    data = invite(body=b"body") + b"garbage after the body\r\n\r\nOPTIONS x"
    msg = parse_request(data)
    assert msg.body == b"body"
    assert msg.to_bytes() == invite(body=b"body")


def test_no_content_length_in_a_datagram_means_to_the_end() -> None:
    data = invite(body=b"x").replace(b"Content-Length: 1\r\n", b"")
    assert parse_request(data + b"yz").body == b"xyz"


def test_no_content_length_on_a_stream_is_refused() -> None:
    data = invite(body=b"x").replace(b"Content-Length: 1\r\n", b"")
    assert refused(data, datagram=False).request is not None
    assert parse_request(invite(body=b"x")).body == b"x"
    assert parse_message(invite(body=b"x"), datagram=False).body == b"x"


@pytest.mark.parametrize("value", ["-1", "five", "1.5", "0x10", "١٢", "²", "1234567890", "", "1 2"])
def test_bad_content_length_values_are_refused(value: str) -> None:
    data = invite().replace(b"Content-Length: 0", f"Content-Length: {value}".encode())
    err = refused(data)
    assert isinstance(err.request, Request)


def test_two_content_lengths_are_refused() -> None:
    err = refused(invite("l: 0"))
    assert isinstance(err.request, Request)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\r\n\r\n",
        b"\x00\x01\x02garbage",
        b"\xff" * 100 + b"\r\n\r\n",
        b"INVITE\r\n\r\n",
        b"SIP/2.0\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 2000 OK\r\n\r\n",
        b"SIP/2.0 099 Low\r\n\r\n",
        b"SIP/2.0 700 High\r\n\r\n",
        b"SIP/2.0 \xd9\xa2\xd9\xa0\xd9\xa0 OK\r\n\r\n",
        b"SIP/3.0 200 OK\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nno colon here\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0\r\n: empty name\r\n\r\n",
        b"INVITE sip:a@b SIP/2.0",
    ],
)
def test_garbage_is_a_parse_error(data: bytes) -> None:
    err = refused(data)
    assert isinstance(err, SipError)
    assert err.request is None


def test_300_header_fields_are_refused() -> None:
    data = invite(*[f"X-Filler-{i}: {i}" for i in range(300)])
    err = refused(data)
    assert "header fields" in err.reason


def test_a_60_kb_message_parses() -> None:
    extra = [f"X-Long-{i}: {'v' * 500}" for i in range(60)]
    body = bytes(range(256)) * 130
    data = invite(*extra, body=body)
    assert 59_000 < len(data) < 65_535
    msg = parse_request(data)
    assert msg.body == body
    assert msg.header("x-long-59") == "v" * 500
    assert msg.to_bytes() == data


# -- start lines ---------------------------------------------------------------------------


def test_request_line() -> None:
    msg = parse_request(invite())
    assert (msg.method, msg.uri, msg.version) == ("INVITE", "sip:bob@biloxi.com", "SIP/2.0")
    assert repr(msg) == "<Request INVITE sip:bob@biloxi.com>"


@pytest.mark.parametrize(
    "line",
    [
        "INVITE sip:bob@biloxi.com",
        "INVITE  sip:bob@biloxi.com SIP/2.0",
        "INVITE sip:bob@biloxi.com SIP/2.0 ",
        "INVITE\tsip:bob@biloxi.com\tSIP/2.0",
        "INVITE sip:bob@biloxi.com HTTP/1.1",
        "INVITE sip:bob@biloxi.com SIP/",
    ],
)
def test_malformed_request_lines_are_answered_400(line: str) -> None:
    err = refused(invite(start=line))
    assert err.status == 400
    assert isinstance(err.request, Request)
    assert err.request.method == "INVITE"


@pytest.mark.parametrize(
    "uri",
    ["bob@biloxi.com", "<sip:bob@biloxi.com>", "sip:bob@", "sip:", "sip:bob@biloxi.com:99999"],
)
def test_malformed_request_uris_are_answered_400(uri: str) -> None:
    err = refused(invite(start=f"INVITE {uri} SIP/2.0"))
    assert err.status == 400
    assert isinstance(err.request, Request)


def test_other_request_uri_schemes_are_parsed_lazily() -> None:
    msg = parse_request(
        invite(start="INVITE tel:+1-201-555-0123;phone-context=example.com SIP/2.0")
    )
    uri = msg.request_uri
    assert isinstance(uri, TelURI)
    assert uri.digits == "+12015550123"
    assert uri.params == {"phone-context": "example.com"}
    msg.set_uri("sip:+12015550123@gw.example.com;user=phone")
    assert isinstance(msg.request_uri, SipURI)
    assert msg.to_bytes().startswith(b"INVITE sip:+12015550123@gw.example.com;user=phone SIP/2.0")


def test_another_sip_version_is_answered_505() -> None:
    err = refused(invite(start="INVITE sip:bob@biloxi.com SIP/3.0"))
    assert err.status == 505
    assert isinstance(err.request, Request)


def test_status_line() -> None:
    request = parse_request(invite())
    data = make_response(request, 486, "Busy Here, Really", to_tag="b").to_bytes()
    msg = parse_response(data)
    assert (msg.status, msg.reason, msg.version) == (486, "Busy Here, Really", "SIP/2.0")
    assert repr(msg) == "<Response 486 Busy Here, Really>"
    lower = parse_response(data.replace(b"SIP/2.0 486", b"sip/2.0 486", 1))
    assert lower.to_bytes() == data


def test_a_response_is_never_answered() -> None:
    request = parse_request(invite())
    data = make_response(request, 200, to_tag="b").to_bytes().replace(b"CSeq: 314159", b"CSeq: x")
    assert refused(data).request is None


# -- CSeq ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0 INVITE", 0),
        ("00042 INVITE", 42),
        ("2147483647 INVITE", 2**31 - 1),
        ("7   INVITE", 7),
        ("7\tINVITE", 7),
        (" 7 INVITE ", 7),
    ],
)
def test_cseq_values(value: str, number: int) -> None:
    msg = parse_request(invite().replace(b"CSeq: 314159 INVITE", f"CSeq: {value}".encode()))
    assert (msg.cseq.number, msg.cseq.method) == (number, "INVITE")


@pytest.mark.parametrize(
    "value",
    [
        "2147483648 INVITE",
        "99999999999 INVITE",
        "-1 INVITE",
        "1",
        "INVITE",
        "1 INVITE extra",
        "1 invite",
        "1 BYE",
        "٣ INVITE",
        "1.0 INVITE",
    ],
)
def test_bad_cseq_values_are_answered_400(value: str) -> None:
    err = refused(invite().replace(b"CSeq: 314159 INVITE", f"CSeq: {value}".encode()))
    assert err.status == 400
    assert isinstance(err.request, Request)


@pytest.mark.parametrize("value", ["-1", "abc", "²", "70 70", "12345678901"])
def test_bad_max_forwards_is_answered_400(value: str) -> None:
    err = refused(invite().replace(b"Max-Forwards: 70", f"Max-Forwards: {value}".encode()))
    assert isinstance(err.request, Request)


def test_expires_is_parsed_when_asked_for() -> None:
    msg = parse_request(invite("Expires: ²"))
    with pytest.raises(ParseError):
        msg.expires  # noqa: B018
    assert parse_request(invite("Expires: 3600")).expires == 3600
    assert parse_request(invite()).expires is None


@pytest.mark.parametrize("name", ["To", "From", "Call-ID", "CSeq", "Max-Forwards"])
def test_single_value_headers_given_twice_are_answered_400(name: str) -> None:
    line = {
        "To": "To: <sip:carol@chicago.com>",
        "From": "From: <sip:carol@chicago.com>;tag=2",
        "Call-ID": "Call-ID: other",
        "CSeq": "CSeq: 1 INVITE",
        "Max-Forwards": "Max-Forwards: 69",
    }[name]
    err = refused(invite(line))
    assert name in err.reason
    assert isinstance(err.request, Request)


def test_a_parameter_given_twice_is_refused() -> None:
    data = invite().replace(b";tag=1928301774", b";tag=1;tag=2")
    assert refused(data).status == 400


# -- editing -------------------------------------------------------------------------------


def names(msg: Request | Response) -> list[str]:
    return [name for name, _ in msg.fields()]


def test_pop_first_value_on_a_multi_value_via_line() -> None:
    msg = parse_request(
        invite(
            without=("via",),
            start="INVITE sip:bob@biloxi.com SIP/2.0\r\n"
            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com"
            ';branch=z9hG4bK2;x="1,2"\r\n'
            "Via: SIP/2.0/UDP c.example.com;branch=z9hG4bK3",
        )
    )
    assert [v.host for v in msg.vias] == ["a.example.com", "b.example.com", "c.example.com"]
    assert msg.pop_first_value("via") == "SIP/2.0/UDP a.example.com;branch=z9hG4bK1"
    assert [v.host for v in msg.vias] == ["b.example.com", "c.example.com"]
    assert msg.header("via") == 'SIP/2.0/UDP b.example.com;branch=z9hG4bK2;x="1,2"'
    assert msg.pop_first_value("v") == 'SIP/2.0/UDP b.example.com;branch=z9hG4bK2;x="1,2"'
    assert msg.top_via.host == "c.example.com"
    assert msg.pop_first_value("via") == "SIP/2.0/UDP c.example.com;branch=z9hG4bK3"
    assert msg.vias == []
    assert msg.pop_first_value("via") is None
    assert "Via" not in names(msg)


def test_pop_first_value_of_an_address_list() -> None:
    msg = parse_request(invite("Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>"))
    assert len(msg.address_list("route")) == 2
    assert msg.pop_first_value("route") == "<sip:p1.example.com;lr>"
    assert [str(r.uri) for r in msg.address_list("route")] == ["sip:p2.example.com;lr"]


def test_add_header_first_goes_above_the_others_of_its_name() -> None:
    msg = parse_request(invite("Record-Route: <sip:p2.example.com;lr>"))
    msg.add_header("Via", "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp", first=True)
    msg.add_header("Record-Route", "<sip:p1.example.com;lr>", first=True)
    assert names(msg)[:2] == ["Via", "Via"]
    assert msg.top_via.host == "proxy.example.com"
    assert len(msg.vias) == 2
    assert msg.header_values("record-route") == [
        "<sip:p1.example.com;lr>",
        "<sip:p2.example.com;lr>",
    ]
    msg.add_header("X-New", "1", first=True)  # none of its name yet: at the end
    assert names(msg)[-1] == "X-New"
    fresh = Request("OPTIONS", "sip:a@b")
    fresh.add_header("Max-Forwards", "70")
    fresh.add_header("Via", "SIP/2.0/UDP h;branch=z9hG4bK1", first=True)
    assert names(fresh) == ["Via", "Max-Forwards"]


def test_add_header_keeps_the_spelling_it_was_given() -> None:
    msg = Request("OPTIONS", "sip:a@b")
    msg.add_header("call-id", "1")
    msg.add_header("v", "SIP/2.0/UDP h;branch=z9hG4bK1")
    msg.add_header("WWW-AUTHENTICATE", "Digest realm=x")
    msg.add_header("x-custom-thing", "y")
    assert names(msg) == ["Call-ID", "v", "WWW-Authenticate", "X-Custom-Thing"]
    assert msg.header("via") == "SIP/2.0/UDP h;branch=z9hG4bK1"


def test_set_header_replaces_every_row_in_the_place_of_the_first() -> None:
    msg = parse_request(invite("Route: <sip:a>", "Subject: s", "Route: <sip:b>"))
    before = names(msg)
    msg.set_header("route", "<sip:c.example.com;lr>")
    assert names(msg) == [n for i, n in enumerate(before) if not (n == "Route" and i > 7)]
    assert msg.header_values("route") == ["<sip:c.example.com;lr>"]
    msg.set_header("Max-Forwards", "69")
    assert msg.max_forwards == 69
    assert names(msg).index("Max-Forwards") == 1
    msg.set_header("X-Added", "1")
    assert names(msg)[-1] == "X-Added"


def test_edits_forget_cached_values() -> None:
    msg = parse_request(invite())
    assert msg.to_addr.tag is None
    assert msg.cseq.number == 314159
    msg.set_header("To", "Bob <sip:bob@biloxi.com>;tag=abc")
    msg.set_header("CSeq", "314160 INVITE")
    msg.add_header("Contact", "<sip:alice@192.0.2.9>")
    assert msg.to_addr.tag == "abc"
    assert msg.cseq.number == 314160
    assert len(msg.contacts) == 2
    msg.remove_header("contact")
    assert msg.contacts == []
    msg.remove_header("max-forwards")
    assert msg.max_forwards is None
    assert "Max-Forwards" not in names(msg)


def test_to_bytes_writes_one_content_length_last() -> None:
    msg = parse_request(invite(body=b"abc"))
    msg.body = b"abcdef"
    data = msg.to_bytes()
    assert data.count(b"Content-Length") == 1
    assert data.endswith(b"Content-Length: 6\r\n\r\nabcdef")
    assert bytes(msg) == data


# -- make_response -------------------------------------------------------------------------


def test_make_response_copies_via_from_to_call_id_cseq() -> None:
    request = parse_request(
        invite(
            "Via: SIP/2.0/TCP second.example.com;branch=z9hG4bK2",
            "Record-Route: <sip:p.example.com;lr>",
            "Subject: not copied",
        )
    )
    response = make_response(request, 404, to_tag="xyz")
    assert (response.status, response.reason) == (404, "Not Found")
    assert names(response) == ["Via", "To", "From", "Call-ID", "CSeq", "Via"]
    assert response.header_values("via") == request.header_values("via")
    assert response.from_addr.tag == "1928301774"
    assert response.to_addr.tag == "xyz"
    assert response.call_id == request.call_id
    assert str(response.cseq) == "314159 INVITE"
    assert response.header("contact") is None
    assert response.header("subject") is None
    parsed = parse_response(response.to_bytes())
    assert parsed.header("content-length") == "0"


def test_make_response_keeps_an_existing_to_tag() -> None:
    request = parse_request(
        invite().replace(b"To: Bob <sip:bob@biloxi.com>", b"To: <sip:b@c>;tag=1")
    )
    assert make_response(request, 200, to_tag="2").to_addr.tag == "1"
    assert make_response(request, 200).to_addr.tag == "1"


def test_make_response_never_tags_a_100() -> None:
    request = parse_request(invite())
    assert make_response(request, 100, to_tag="t").to_addr.tag is None
    assert make_response(request, 180, to_tag="t").to_addr.tag == "t"
    assert make_response(request, 200).to_addr.tag is None


def test_make_response_copies_timestamp_on_100_only() -> None:
    request = parse_request(invite("Timestamp: 54.3 0.1"))
    assert make_response(request, 100).header("timestamp") == "54.3 0.1"
    assert make_response(request, 180, to_tag="t").header("timestamp") is None
    assert make_response(parse_request(invite()), 100).header("timestamp") is None


def test_make_response_headers_body_and_reason() -> None:
    request = parse_request(invite())
    response = make_response(
        request,
        200,
        "Fine",
        to_tag="t",
        headers=[("Contact", "<sip:bob@192.0.2.4>"), ("Content-Type", "application/sdp")],
        body=b"v=0\r\n",
    )
    parsed = parse_response(response.to_bytes())
    assert (parsed.status, parsed.reason) == (200, "Fine")
    assert parsed.body == b"v=0\r\n"
    assert [str(c.uri) for c in parsed.contacts] == ["sip:bob@192.0.2.4"]
    assert make_response(request, 299).reason != ""


def test_make_response_does_not_share_fields_with_the_request() -> None:
    request = parse_request(invite())
    response = make_response(request, 180, to_tag="t")
    response.replace_first_value("via", "SIP/2.0/UDP changed.example.com;branch=z9hG4bKc")
    assert request.top_via.host == "pc33.atlanta.com"
    assert request.to_addr.tag is None


def test_header_tables() -> None:
    assert header_key("N") == "identity-info"
    assert header_key("Via") == header_key("v") == "via"
    assert canonical_name("identity-info") == "Identity-Info"
    assert canonical_name("cseq") == "CSeq"
    assert canonical_name("www-authenticate") == "WWW-Authenticate"
    assert canonical_name("x-my-header") == "X-My-Header"


@pytest.mark.parametrize("name", ["Service-Route", "Path", "P-Asserted-Identity", "Record-Route"])
def test_address_list_headers_split_at_commas(name: str) -> None:
    msg = parse_request(invite(f'{name}: <sip:a.example.com;lr>, "B, b" <sip:b.example.com;lr>'))
    assert [str(a.uri) for a in msg.address_list(name)] == [
        "sip:a.example.com;lr",
        "sip:b.example.com;lr",
    ]


@pytest.mark.parametrize("all_parsed", [False, True])
def test_a_top_via_edited_in_place_is_written_back_and_kept(all_parsed: bool) -> None:
    msg = parse_request(invite("Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2"))
    if all_parsed:
        msg.vias  # noqa: B018
    top = msg.top_via
    top.params["received"] = "192.0.2.1"  # what a transport does to the parsed top Via
    msg.top_via_edited()
    assert msg.top_via is top
    assert msg.header_values("via") == [
        "SIP/2.0/UDP pc33.atlanta.com:5060;branch=z9hG4bK776asdhds;received=192.0.2.1",
        "SIP/2.0/UDP second.example.com;branch=z9hG4bK2",
    ]
    assert [via.host for via in msg.vias] == ["pc33.atlanta.com", "second.example.com"]
    assert msg.vias[0] is top


def test_a_top_via_in_a_list_is_edited_alone() -> None:
    two = "SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2"
    msg = parse_request(invite(f"Via: {two}", without=("via",)))
    msg.top_via.params["rport"] = "5062"
    msg.top_via_edited()
    assert msg.header("via") == (
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1;rport=5062, "
        "SIP/2.0/UDP b.example.com;branch=z9hG4bK2"
    )


def test_replace_first_value_with_new_text_forgets_the_parsed_value() -> None:
    msg = parse_request(invite("Route: <sip:a.example.com;lr>, <sip:b.example.com;lr>"))
    assert msg.top_via.host == "pc33.atlanta.com"
    assert len(msg.address_list("route")) == 2
    msg.replace_first_value("v", "SIP/2.0/TCP other.example.com;branch=z9hG4bKo")
    msg.replace_first_value("route", "<sip:c.example.com;lr>")
    assert msg.top_via.host == "other.example.com"
    assert [str(r.uri) for r in msg.address_list("route")] == [
        "sip:c.example.com;lr",
        "sip:b.example.com;lr",
    ]
    with pytest.raises(KeyError):
        msg.replace_first_value("record-route", "<sip:x>")


def test_popping_the_first_route_keeps_the_rest_parsed() -> None:
    msg = parse_request(invite("Route: <sip:a.example.com;lr>, <sip:b.example.com;lr>"))
    routes = msg.address_list("route")
    assert msg.pop_first_value("route") == "<sip:a.example.com;lr>"
    assert msg.address_list("route") == routes[1:]
    assert msg.pop_first_value("route") == "<sip:b.example.com;lr>"
    assert msg.address_list("route") == []
    assert not msg.has("route")


def test_popping_the_top_via_keeps_the_others_parsed() -> None:
    msg = parse_request(invite("Via: SIP/2.0/UDP second.example.com;branch=z9hG4bK2"))
    second = msg.vias[1]
    msg.pop_first_value("via")
    assert msg.top_via is second
    assert msg.vias == [second]


def test_a_pushed_via_is_on_top_and_already_parsed() -> None:
    msg = parse_request(invite())
    mine = Via("udp", "192.0.2.9", 5070, {"branch": "z9hG4bKmine"})
    msg.push_via(mine)
    assert msg.top_via is mine
    assert msg.header_values("via")[0] == "SIP/2.0/UDP 192.0.2.9:5070;branch=z9hG4bKmine"
    assert [via.host for via in msg.vias] == ["192.0.2.9", "pc33.atlanta.com"]
    assert parse_request(msg.to_bytes()).top_via.branch == "z9hG4bKmine"


RINGING = (
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    "From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    "To: {to}\r\n"
    "Call-ID: a84b4c76e66710\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_a_response_is_checked_for_what_matching_needs_and_read_on_demand() -> None:
    response = parse_response(RINGING.format(to="Bob <sip:bob@biloxi.com>;tag=a6c85cf").encode())
    assert response.top_via.branch == "z9hG4bKp1"
    assert response.cseq.method == "INVITE"
    assert response.to_addr.tag == "a6c85cf"
    assert [via.host for via in response.vias] == ["proxy.example.com", "pc33.atlanta.com"]


def test_a_response_with_a_to_it_cannot_read_is_passed_on_as_it_came() -> None:
    # a proxy forwards it (only the top Via is its business); whoever reads To finds it broken
    data = RINGING.format(to="Bob <sip:bob@biloxi.com;tag=x").encode()
    response = parse_response(data)
    assert response.top_via.branch == "z9hG4bKp1"
    with pytest.raises(ParseError):
        response.to_addr  # noqa: B018
    response.pop_first_value("via")
    assert b"To: Bob <sip:bob@biloxi.com;tag=x\r\n" in response.to_bytes()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda text: text.replace("To: {to}\r\n", ""), "no To"),
        (
            lambda text: text.replace(
                "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1", "Via: x"
            ),
            "Via",
        ),
        (lambda text: text.replace("CSeq: 314159 INVITE", "CSeq: x"), "CSeq"),
        (lambda text: text.replace("Call-ID: a84b4c76e66710\r\n", ""), "Call-ID"),
    ],
)
def test_a_response_without_what_matching_needs_is_refused(edit, reason: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError, match=reason):
        parse_message(edit(RINGING).format(to="<sip:bob@biloxi.com>").encode())


# -- a response relayed from its text (§16.7 step 9) ------------------------------------------

RELAYED = (
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy\r\n"
    "v: SIP/2.0/UDP 192.0.2.7:5061;branch=z9hG4bK-1;received=127.0.0.1;rport=5061\r\n"
    "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
    "From: <sip:5551001@127.0.0.1>;tag=caller\r\n"
    "To: <sip:5552999@127.0.0.1>;tag=callee\r\n"
    "Call-ID: relay@test\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:5552999@127.0.0.1:5080>\r\n"
    "Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\n"
    "v=0\r\n"  # one byte past Content-Length: not part of the message (§18.3)
)


def relayed_the_long_way(response: Response) -> bytes:
    upstream = Response(response.status, response.reason, response.copy_fields(), response.body)
    upstream.pop_first_value("via")
    return upstream.to_bytes()


def test_a_relayed_response_is_the_received_text_without_the_top_via_line() -> None:
    response = parse_response(RELAYED.encode())
    relayed = response.without_top_via()
    assert relayed is not None
    assert (
        relayed
        == RELAYED.replace("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKproxy\r\n", "").encode()[
            :-1
        ]
    )
    again, long_way = parse_response(relayed), parse_response(relayed_the_long_way(response))
    assert [(k, v) for k, _, v in again._fields] == [(k, v) for k, _, v in long_way._fields]
    assert again.body == long_way.body == b"v=0\r"
    assert again.top_via.branch == "z9hG4bK-1"


@pytest.mark.parametrize(
    "text",
    [
        RELAYED.replace(";branch=z9hG4bKproxy\r\nv: ", ";branch=z9hG4bKproxy, "),  # one line
        RELAYED.replace("Content-Length: 4\r\n", ""),
        RELAYED.replace("Call-ID: relay@test\r\n", "Call-ID:\r\n relay@test\r\n"),  # folded
        RELAYED.replace("CSeq: 1 INVITE\r\n", "CSeq: 1 INVITE\n"),
    ],
    ids=["two Vias on one line", "no Content-Length", "a folded line", "a bare LF"],
)
def test_a_response_not_in_the_usual_form_is_relayed_the_long_way(text: str) -> None:
    assert parse_response(text.encode()).without_top_via() is None


def test_a_response_edited_since_it_was_received_is_relayed_the_long_way() -> None:
    for edit in (
        lambda r: r.add_header("Warning", '399 - "x"'),
        lambda r: r.pop_first_value("via"),
        lambda r: r.set_header("Contact", "<sip:elsewhere@192.0.2.1>"),
        lambda r: r.forget_parsed(),
    ):
        response = parse_response(RELAYED.encode())
        edit(response)
        assert response.without_top_via() is None
    built = Response(180, fields=parse_response(RELAYED.encode()).copy_fields())
    assert built.without_top_via() is None  # never received: nothing to relay from
    assert parse_request(invite())._lines is None  # requests keep no lines


def test_a_forgotten_message_keeps_its_fields_packed_and_reads_them_back_the_same() -> None:
    request = parse_request(invite("Subject: tea, and  two spaces", "Route: <sip:a>, <sip:b>"))
    fields, wire = request.copy_fields(), request.to_bytes()
    request.forget_parsed()
    assert request._field_list is None  # packed: one string instead of a list of tuples
    assert request.to_bytes() == wire
    assert request.copy_fields() == fields
    assert request.call_id == "a84b4c76e66710@pc33.atlanta.com"
    request.forget_parsed()
    assert request.pop_first_value("route") == "<sip:a>"  # an edit of a packed message
    assert request.header_values("route") == ["<sip:b>"]
    assert request.header("subject") == "tea, and  two spaces"


def test_fields_that_would_not_read_back_the_same_are_not_packed() -> None:
    request = parse_request(invite())
    request.add_header("X-Odd", "one\nline break")  # never parsed so: only built by hand
    request.forget_parsed()
    assert request._field_list is not None
    assert request.header("x-odd") == "one\nline break"
    named = parse_request(invite())
    named.add_header("X-Odd\nName", "value")
    named.forget_parsed()
    assert named._field_list is not None
    assert named.header("X-Odd\nName") == "value"
    empty = Request("OPTIONS", "sip:a@example.com")
    empty.forget_parsed()
    assert empty.to_bytes().startswith(b"OPTIONS sip:a@example.com SIP/2.0\r\n")
