"""The examples of RFC 3261 as vectors: the §24 call flows, the §7 header examples and the
§19.1.3 and §19.1.4 URIs."""

from __future__ import annotations

import pytest

from softswitch.sip import (
    Message,
    Request,
    Response,
    SipURI,
    make_response,
    parse_message,
    parse_uri,
    uri_equal,
)


def sdp(origin: bytes, length: int) -> bytes:
    """A body of the length the RFC's Content-Length gives ("SDP not shown")."""
    body = b"v=0\r\no=" + origin + b"\r\ns=-\r\n"
    return body + b"a=x" + b"x" * (length - len(body) - 5) + b"\r\n"


ALICE_SDP = sdp(b"alice 2890844526 2890844526 IN IP4 pc33.atlanta.com", 142)
BOB_SDP = sdp(b"bob 2890844527 2890844527 IN IP4 192.0.2.4", 131)


def wire(text: str, body: bytes = b"") -> bytes:
    """An RFC example as written (LF line ends, folding kept) to the bytes on the wire."""
    lines = text.strip("\n").split("\n")
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def parse(text: str, body: bytes = b"") -> Request | Response:
    return parse_message(wire(text, body))


def request(text: str, body: bytes = b"") -> Request:
    message = parse(text, body)
    assert isinstance(message, Request)
    return message


def response(text: str, body: bytes = b"") -> Response:
    message = parse(text, body)
    assert isinstance(message, Response)
    return message


# -- §24.1 Registration --------------------------------------------------------------------

F1_REGISTER = """
REGISTER sip:registrar.biloxi.com SIP/2.0
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>
From: Bob <sip:bob@biloxi.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4>
Expires: 7200
Content-Length: 0
"""

F2_REGISTER_OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7
 ;received=192.0.2.4
To: Bob <sip:bob@biloxi.com>;tag=2493k59kd
From: Bob <sip:bob@biloxi.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4>
Expires: 7200
Content-Length: 0
"""


def test_24_1_register() -> None:
    msg = request(F1_REGISTER)
    assert msg.method == "REGISTER"
    assert str(msg.request_uri) == "sip:registrar.biloxi.com"
    via = msg.top_via
    assert (via.transport, via.host, via.port, via.branch) == (
        "UDP",
        "bobspc.biloxi.com",
        5060,
        "z9hG4bKnashds7",
    )
    assert msg.max_forwards == 70
    assert (msg.to_addr.display, str(msg.to_addr.uri), msg.to_addr.tag) == (
        "Bob",
        "sip:bob@biloxi.com",
        None,
    )
    assert msg.from_addr.tag == "456248"
    assert msg.call_id == "843817637684230@998sdasdh09"
    assert (msg.cseq.number, msg.cseq.method) == (1826, "REGISTER")
    assert [str(c.uri) for c in msg.contacts] == ["sip:bob@192.0.2.4"]
    assert msg.expires == 7200
    to_uri = msg.to_addr.uri
    assert isinstance(to_uri, SipURI)
    assert to_uri.aor == "sip:bob@biloxi.com"


def test_24_1_register_ok_built_by_the_registrar_matches_f2() -> None:
    """The registrar's 200 (after the transport stamps `received`) carries what F2 does."""
    register = request(F1_REGISTER)
    register.replace_first_value(
        "via", "SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7;received=192.0.2.4"
    )
    built = make_response(
        register,
        200,
        to_tag="2493k59kd",
        headers=[("Contact", "<sip:bob@192.0.2.4>"), ("Expires", "7200")],
    )
    expected = response(F2_REGISTER_OK)
    assert same_fields(built, expected)
    assert built.top_via.received == "192.0.2.4"
    assert built.top_via.response_address() == ("192.0.2.4", 5060)


def same_fields(a: Message, b: Message) -> bool:
    """The same fields by name (any spelling) and value, in order, Content-Length aside; Via
    values compared as parsed (a line folded before `;received=` leaves a SP before the `;`)."""
    return field_list(a) == field_list(b)


def field_list(m: Message) -> list[tuple[str, str]]:
    reparsed = parse_message(m.to_bytes())
    fields = [(n.lower(), v) for n, v in reparsed.fields() if n.lower() != "content-length"]
    vias = iter(str(via) for via in reparsed.vias)
    return [(n, next(vias)) if n == "via" else (n, v) for n, v in fields]


# -- §24.2 Session setup -------------------------------------------------------------------

F1_INVITE = """
INVITE sip:bob@biloxi.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Type: application/sdp
Content-Length: 142
"""

F2_TRYING = """
SIP/2.0 100 Trying
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Content-Length: 0
"""

F3_INVITE = """
INVITE sip:bob@biloxi.com SIP/2.0
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
Max-Forwards: 69
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Type: application/sdp
Content-Length: 142
"""

F4_TRYING = """
SIP/2.0 100 Trying
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Content-Length: 0
"""

F5_INVITE = """
INVITE sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
Max-Forwards: 68
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Type: application/sdp
Content-Length: 142
"""

F6_RINGING = """
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1
 ;received=192.0.2.3
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE
Content-Length: 0
"""

F7_RINGING = """
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE
Content-Length: 0
"""

F8_RINGING = """
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE
Content-Length: 0
"""

F9_OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1
 ;received=192.0.2.3
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Type: application/sdp
Content-Length: 131
"""

F10_OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1
 ;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Type: application/sdp
Content-Length: 131
"""

F11_OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8
 ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Type: application/sdp
Content-Length: 131
"""

F12_ACK = """
ACK sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds9
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 314159 ACK
Content-Length: 0
"""

F13_BYE = """
BYE sip:alice@pc33.atlanta.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10
Max-Forwards: 70
From: Bob <sip:bob@biloxi.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 231 BYE
Content-Length: 0
"""

F14_OK = """
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10
From: Bob <sip:bob@biloxi.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 231 BYE
Content-Length: 0
"""

FLOW = [
    ("F1", F1_INVITE, ALICE_SDP),
    ("F2", F2_TRYING, b""),
    ("F3", F3_INVITE, ALICE_SDP),
    ("F4", F4_TRYING, b""),
    ("F5", F5_INVITE, ALICE_SDP),
    ("F6", F6_RINGING, b""),
    ("F7", F7_RINGING, b""),
    ("F8", F8_RINGING, b""),
    ("F9", F9_OK, BOB_SDP),
    ("F10", F10_OK, BOB_SDP),
    ("F11", F11_OK, BOB_SDP),
    ("F12", F12_ACK, b""),
    ("F13", F13_BYE, b""),
    ("F14", F14_OK, b""),
]


@pytest.mark.parametrize(("text", "body"), [(t, b) for _, t, b in FLOW], ids=[f for f, *_ in FLOW])
def test_24_2_every_message_parses_and_serializes_to_itself(text: str, body: bytes) -> None:
    msg = parse(text, body)
    assert msg.call_id == "a84b4c76e66710"
    assert msg.from_addr.tag in ("1928301774", "a6c85cf")
    assert msg.body == body
    assert len(msg.body) == int(msg.header("content-length") or "")
    # the only change on the way out is the folding of the Via lines
    assert msg.to_bytes() == wire(text.replace("\n ;", " ;"), body)
    assert parse_message(msg.to_bytes()).to_bytes() == msg.to_bytes()


def test_24_2_the_invite_as_it_crosses_the_proxies() -> None:
    f1, f3, f5 = (
        request(F1_INVITE, ALICE_SDP),
        request(F3_INVITE, ALICE_SDP),
        request(F5_INVITE, ALICE_SDP),
    )
    assert [len(m.vias) for m in (f1, f3, f5)] == [1, 2, 3]
    assert [m.max_forwards for m in (f1, f3, f5)] == [70, 69, 68]
    assert f3.vias[1].received == "192.0.2.1"
    assert f5.vias[1].received == "192.0.2.2"
    assert [v.branch for v in f5.vias] == [
        "z9hG4bK4b43c2ff8.1",
        "z9hG4bK77ef4c2312983.1",
        "z9hG4bKnashds8",
    ]
    assert str(f5.request_uri) == "sip:bob@192.0.2.4"
    assert f1.to_addr.tag is None


def test_24_2_a_proxy_turns_f1_into_f3() -> None:
    """What the atlanta.com proxy does (§16.6): its Via on top, Max-Forwards down by one."""
    msg = request(F1_INVITE, ALICE_SDP)
    msg.replace_first_value("via", str(msg.top_via) + ";received=192.0.2.1")
    msg.add_header(
        "Via", "SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1", first=True
    )
    msg.set_header("Max-Forwards", str((msg.max_forwards or 0) - 1))
    assert same_fields(msg, request(F3_INVITE, ALICE_SDP))
    assert msg.body == ALICE_SDP


def test_24_2_the_responses_travel_back_by_popping_vias() -> None:
    """F6 -> F7 -> F8: each proxy removes its own Via and the rest is unchanged."""
    f6 = response(F6_RINGING)
    assert f6.pop_first_value("via") == (
        "SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1 ;received=192.0.2.3"
    )
    assert same_fields(f6, response(F7_RINGING))
    top = f6.pop_first_value("via")
    assert top is not None and "bigbox3.site3.atlanta.com" in top
    assert same_fields(f6, response(F8_RINGING))
    assert f6.top_via.response_address() == ("192.0.2.1", 5060)


def test_24_2_trying_built_by_the_proxy_matches_f2() -> None:
    invite = request(F1_INVITE, ALICE_SDP)
    invite.replace_first_value(
        "via", "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1"
    )
    trying = make_response(invite, 100, to_tag="never-on-a-100")
    assert same_fields(trying, response(F2_TRYING))
    assert trying.to_addr.tag is None


def test_24_2_ringing_and_ok_built_by_bob_match_f6_and_f9() -> None:
    invite = request(F5_INVITE, ALICE_SDP)
    invite.replace_first_value(
        "via", "SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3"
    )
    ringing = make_response(
        invite, 180, to_tag="a6c85cf", headers=[("Contact", "<sip:bob@192.0.2.4>")]
    )
    assert ringing.to_addr.tag == "a6c85cf"
    expected = response(F6_RINGING)
    # the same fields; F6 has its Contact above the CSeq, make_response adds it at the end
    assert sorted(field_list(ringing)) == sorted(field_list(expected))
    ok = make_response(
        invite,
        200,
        to_tag="a6c85cf",
        headers=[("Contact", "<sip:bob@192.0.2.4>"), ("Content-Type", "application/sdp")],
        body=BOB_SDP,
    )
    assert same_fields(ok, response(F9_OK, BOB_SDP))
    assert parse_message(ok.to_bytes()).body == BOB_SDP


def test_24_2_ack_and_bye_are_in_dialog_requests() -> None:
    ack = request(F12_ACK)
    assert ack.to_addr.tag == "a6c85cf"
    assert (ack.cseq.number, ack.cseq.method) == (314159, "ACK")
    assert ack.top_via.branch != request(F1_INVITE, ALICE_SDP).top_via.branch  # new transaction
    bye = request(F13_BYE)
    assert (bye.from_addr.tag, bye.to_addr.tag) == ("a6c85cf", "1928301774")
    assert (bye.cseq.number, bye.cseq.method) == (231, "BYE")
    assert bye.top_via.response_address() == ("192.0.2.4", 5060)
    ok = make_response(bye, 200, to_tag="ignored-when-there-is-one")
    assert same_fields(ok, response(F14_OK))


# -- §7.3.1 header field format ------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Subject:            lunch",
        "Subject      :      lunch",
        "Subject            :lunch",
        "Subject: lunch",
    ],
)
def test_7_3_1_whitespace_around_the_colon(line: str) -> None:
    msg = request(F13_BYE.replace("Content-Length: 0", f"{line}\nContent-Length: 0"))
    assert msg.header("subject") == "lunch"


def test_7_3_1_folded_subject_is_the_same_as_one_line() -> None:
    one = "Subject: I know you're there, pick up the phone and talk to me!"
    folded = "Subject: I know you're there,\n         pick up the phone\n         and talk to me!"
    a = request(F13_BYE.replace("Content-Length: 0", f"{one}\nContent-Length: 0"))
    b = request(F13_BYE.replace("Content-Length: 0", f"{folded}\nContent-Length: 0"))
    assert a.header("subject") == b.header("subject")
    assert a.to_bytes() == b.to_bytes()


ROUTES_EQUIVALENT = [
    "Route: <sip:alice@atlanta.com>\n"
    "Subject: Lunch\n"
    "Route: <sip:bob@biloxi.com>\n"
    "Route: <sip:carol@chicago.com>",
    "Route: <sip:alice@atlanta.com>, <sip:bob@biloxi.com>\n"
    "Route: <sip:carol@chicago.com>\n"
    "Subject: Lunch",
    "Subject: Lunch\n"
    "Route: <sip:alice@atlanta.com>, <sip:bob@biloxi.com>,\n"
    "       <sip:carol@chicago.com>",
]

ROUTES_DIFFERENT = [
    "Route: <sip:alice@atlanta.com>\nRoute: <sip:bob@biloxi.com>\nRoute: <sip:carol@chicago.com>",
    "Route: <sip:bob@biloxi.com>\nRoute: <sip:alice@atlanta.com>\nRoute: <sip:carol@chicago.com>",
    "Route: <sip:alice@atlanta.com>,<sip:carol@chicago.com>,\n       <sip:bob@biloxi.com>",
]


def routes(block: str) -> list[str]:
    msg = request(F13_BYE.replace("Content-Length: 0", f"{block}\nContent-Length: 0"))
    return [str(r.uri) for r in msg.address_list("route")]


def test_7_3_1_route_rows_and_comma_lists_are_equivalent() -> None:
    expected = ["sip:alice@atlanta.com", "sip:bob@biloxi.com", "sip:carol@chicago.com"]
    for block in ROUTES_EQUIVALENT:
        assert routes(block) == expected
        msg = request(F13_BYE.replace("Content-Length: 0", f"{block}\nContent-Length: 0"))
        assert msg.header_values("route") == [f"<{uri}>" for uri in expected]
        assert msg.header("subject") == "Lunch"


def test_7_3_1_route_order_matters() -> None:
    orders = [routes(block) for block in ROUTES_DIFFERENT]
    assert len({tuple(order) for order in orders}) == 3


def test_7_3_1_header_names_and_parameter_names_are_case_insensitive() -> None:
    a = request(
        F1_REGISTER.replace(
            "Contact: <sip:bob@192.0.2.4>", "Contact: <sip:alice@atlanta.com>;expires=3600"
        )
    )
    b = request(
        F1_REGISTER.replace(
            "Contact: <sip:bob@192.0.2.4>", "CONTACT: <sip:alice@atlanta.com>;ExPiReS=3600"
        )
    )
    assert a.contacts[0].params == b.contacts[0].params == {"expires": "3600"}
    assert b.header("contact") == b.header("Contact") == b.header("m")
    assert uri_equal(sip(str(a.contacts[0].uri)), sip(str(b.contacts[0].uri)))


def test_7_3_1_quoted_warning_text_is_case_sensitive() -> None:
    a = request(
        F13_BYE.replace("Content-Length: 0", 'Warning: 370 devnull "Choose a bigger pipe"\nl: 0')
    )
    b = request(
        F13_BYE.replace("Content-Length: 0", 'Warning: 370 devnull "CHOOSE A BIGGER PIPE"\nl: 0')
    )
    assert a.header_values("warning") != b.header_values("warning")


def test_7_1_sip_version_is_case_insensitive_but_sent_in_upper_case() -> None:
    msg = request(F13_BYE.replace("SIP/2.0\n", "sip/2.0\n", 1))
    assert msg.version == "SIP/2.0"
    assert msg.to_bytes().startswith(b"BYE sip:alice@pc33.atlanta.com SIP/2.0\r\n")


def test_7_3_3_compact_and_long_forms_mean_the_same() -> None:
    long_form = request(F1_INVITE, ALICE_SDP)
    compact = request(
        F1_INVITE.replace("Via:", "v:")
        .replace("To:", "t:")
        .replace("From:", "f:")
        .replace("Call-ID:", "i:")
        .replace("Contact:", "m:")
        .replace("Content-Type:", "c:")
        .replace("Content-Length:", "l:"),
        ALICE_SDP,
    )
    for name in ("via", "to", "from", "call-id", "contact", "content-type", "content-length"):
        assert compact.header(name) == long_form.header(name), name
    assert [str(v) for v in compact.vias] == [str(v) for v in long_form.vias]
    assert compact.body == long_form.body


# -- §19.1.3 example URIs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scheme", "user", "password", "host", "port", "params", "headers"),
    [
        ("sip:alice@atlanta.com", "sip", "alice", None, "atlanta.com", None, {}, {}),
        (
            "sip:alice:secretword@atlanta.com;transport=tcp",
            "sip",
            "alice",
            "secretword",
            "atlanta.com",
            None,
            {"transport": "tcp"},
            {},
        ),
        (
            "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sips",
            "alice",
            None,
            "atlanta.com",
            None,
            {},
            {"subject": "project%20x", "priority": "urgent"},
        ),
        (
            "sip:+1-212-555-1212:1234@gateway.com;user=phone",
            "sip",
            "+1-212-555-1212",
            "1234",
            "gateway.com",
            None,
            {"user": "phone"},
            {},
        ),
        ("sips:1212@gateway.com", "sips", "1212", None, "gateway.com", None, {}, {}),
        ("sip:alice@192.0.2.4", "sip", "alice", None, "192.0.2.4", None, {}, {}),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
            "sip",
            None,
            None,
            "atlanta.com",
            None,
            {"method": "REGISTER"},
            {"to": "alice%40atlanta.com"},
        ),
        # "a user field value of alice;day=tuesday": the semicolon is part of the user
        (
            "sip:alice;day=tuesday@atlanta.com",
            "sip",
            "alice;day=tuesday",
            None,
            "atlanta.com",
            None,
            {},
            {},
        ),
    ],
)
def test_19_1_3_example_uris(
    text: str,
    scheme: str,
    user: str | None,
    password: str | None,
    host: str,
    port: int | None,
    params: dict[str, str | None],
    headers: dict[str, str],
) -> None:
    uri = sip(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        scheme,
        user,
        password,
        host,
        port,
    )
    assert uri.params == params
    assert uri.headers == headers
    assert str(uri) == text
    assert uri_equal(uri, sip(str(uri)))


def test_19_1_3_sips_defaults_to_tls() -> None:
    assert sip("sips:1212@gateway.com").transport == "tls"
    assert sip("sip:alice@atlanta.com").transport == "udp"
    assert sip("sip:alice:secretword@atlanta.com;transport=tcp").transport == "tcp"


# -- §19.1.4 URI comparison ----------------------------------------------------------------


def sip(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri


EQUIVALENT = [
    ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
    ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"),
    (
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
    ),
    (
        "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
    ),
]

NOT_EQUIVALENT = [
    ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
    ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
    ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
    ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
]


@pytest.mark.parametrize(("a", "b"), EQUIVALENT, ids=[f"{a} == {b}" for a, b in EQUIVALENT])
def test_19_1_4_equivalent(a: str, b: str) -> None:
    ua, ub = sip(a), sip(b)
    assert uri_equal(ua, ub) and uri_equal(ub, ua)
    assert ua == ub
    assert hash(ua) == hash(ub)


@pytest.mark.parametrize(("a", "b"), NOT_EQUIVALENT, ids=[f"{a} != {b}" for a, b in NOT_EQUIVALENT])
def test_19_1_4_not_equivalent(a: str, b: str) -> None:
    ua, ub = sip(a), sip(b)
    assert not uri_equal(ua, ub) and not uri_equal(ub, ua)
    assert ua != ub


def test_19_1_4_equality_is_not_transitive() -> None:
    plain = sip("sip:carol@chicago.com")
    on, off = sip("sip:carol@chicago.com;security=on"), sip("sip:carol@chicago.com;security=off")
    assert uri_equal(plain, on) and uri_equal(plain, off)
    assert not uri_equal(on, off)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        # the rules the examples do not show
        ("sip:alice@atlanta.com", "sips:alice@atlanta.com", False),
        ("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com", False),
        ("sip:alice:pw@atlanta.com", "sip:alice:PW@atlanta.com", False),
        ("sip:atlanta.com", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;user=phone", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;ttl=1", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;method=INVITE", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;maddr=239.1.1.1", "sip:alice@atlanta.com", False),
        ("sip:alice@atlanta.com;lr", "sip:alice@atlanta.com", True),
        ("sip:alice@atlanta.com;x=1", "sip:alice@atlanta.com;x=2", False),
        ("sip:alice@atlanta.com;X=ABC", "sip:alice@atlanta.com;x=abc", True),
        ("sip:alice@atlanta.com?a=1", "sip:alice@atlanta.com?A=1", True),
        ("sip:alice@atlanta.com?subject=x", "sip:alice@atlanta.com?subject=X", False),
        # escapes: unreserved characters equal their escapes, reserved ones do not
        ("sip:%41lice@atlanta.com", "sip:Alice@atlanta.com", True),
        ("sip:%61lice@atlanta.com", "sip:%61LICE@atlanta.com", False),
        ("sip:alice%3bx@atlanta.com", "sip:alice;x@atlanta.com", False),
        ("sip:alice%3bx@atlanta.com", "sip:alice%3Bx@atlanta.com", True),
        ("sip:%FF@atlanta.com", "sip:%FE@atlanta.com", False),
        ("sip:bob@atlanta.com;%74ransport=tcp", "sip:bob@atlanta.com;transport=tcp", True),
        ("sip:bob@atlanta.com;%74ransport=tcp", "sip:bob@atlanta.com", False),
        ("sip:bob@[2001:DB8::1]", "sip:bob@[2001:db8::1]", True),
        ("sip:bob@[2001:db8::1]:5060", "sip:bob@[2001:db8::1]", False),
    ],
)
def test_19_1_4_more_rules(a: str, b: str, equal: bool) -> None:
    ua, ub = sip(a), sip(b)
    assert uri_equal(ua, ub) is equal
    assert uri_equal(ub, ua) is equal
    if equal:
        assert hash(ua) == hash(ub)
