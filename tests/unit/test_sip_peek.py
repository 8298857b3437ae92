"""The look at a request's bytes that refusals in overload use: it reads the usual form and
answers as the full parse would, and leaves everything else to the full parser."""

from __future__ import annotations

import contextlib

import pytest

from softswitch.sip import ParseError, Request, Response, make_response, parse_message
from softswitch.sip.peek import REFUSAL_TAG_PREFIX, is_refusal_ack, peek_new_request

from .test_sip_torture import VECTORS, load

REGISTER = (
    "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:5550001@127.0.0.1>;tag=1SIPpTag00\r\n"
    "To: <sip:5550001@127.0.0.1>\r\n"
    "Call-ID: 1-reg@127.0.0.1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:5550001@127.0.0.1:5061;transport=UDP>\r\n"
    "Expires: 3600\r\n"
    "Content-Length: 0\r\n\r\n"
)


def refusal(data: bytes) -> Response:
    request = peek_new_request(data)
    assert request is not None
    answer = parse_message(request.response(503, "Service Unavailable", [("Retry-After", "40")]))
    assert isinstance(answer, Response)
    return answer


def test_the_answer_copies_what_a_response_copies_and_adds_a_tag_of_its_own() -> None:
    answer = refusal(REGISTER.encode())
    request = parse_message(REGISTER.encode())
    assert isinstance(request, Request)
    expected = make_response(request, 503)
    assert answer.status == 503 and answer.reason == "Service Unavailable"
    for name in ("via", "from", "call-id", "cseq"):
        assert answer.header_values(name) == expected.header_values(name)
    assert answer.to_addr.uri == request.to_addr.uri
    assert answer.to_addr.tag is not None and answer.to_addr.tag.startswith(REFUSAL_TAG_PREFIX)
    assert answer.header("retry-after") == "40"
    assert answer.header("contact") is None and answer.body == b""


def test_a_retransmission_gets_the_same_tag_and_another_request_another() -> None:
    first = refusal(REGISTER.encode()).to_addr.tag
    assert refusal(REGISTER.encode()).to_addr.tag == first
    again = REGISTER.replace("CSeq: 1 ", "CSeq: 2 ").replace("branch=z9hG4bK-1", "branch=z9hG4bK-2")
    assert refusal(again.encode()).to_addr.tag != first


def test_compact_names_and_several_via_lines_are_read() -> None:
    message = (
        REGISTER.replace("Via:", "v:")
        .replace("From:", "f:")
        .replace("To:", "t :")
        .replace("Call-ID:", "i:")
        .replace("Max-Forwards", "Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKup\r\nMax-Forwards")
    )
    answer = refusal(message.encode())
    assert [str(via) for via in answer.vias] == [
        "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport",
        "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKup",
    ]
    assert answer.call_id == "1-reg@127.0.0.1"


def test_the_top_via_is_written_as_stamped() -> None:
    request = peek_new_request(REGISTER.encode())
    assert request is not None
    request.top_via.params["rport"] = "5061"
    request.top_via.params["received"] = "192.0.2.7"
    answer = parse_message(request.response(503, "Service Unavailable", []))
    assert answer.top_via.received == "192.0.2.7" and answer.top_via.rport == 5061


def test_credentials_are_noted_for_the_screen() -> None:
    """A request with credentials is still a new request (in overload it is refused like any
    other unless they answer a fresh challenge): its Authorization values come with it."""
    authorization = 'Digest username="5550001", realm="ashford", nonce="n1"'
    message = REGISTER.replace(
        "Expires:",
        f'Authorization: {authorization}\r\nProxy-Authorization: Digest username="x"\r\nExpires:',
    )
    request = peek_new_request(message.encode())
    assert request is not None
    assert request.credentials == (authorization, 'Digest username="x"')
    plain = peek_new_request(REGISTER.encode())
    assert plain is not None and plain.credentials == ()


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (("To: <sip:5550001@127.0.0.1>", "To: <sip:5550001@127.0.0.1>;tag=abc"), "in a dialog"),
        (("Max-Forwards: 70", "Max-Forwards:\r\n 70"), "a folded line"),
        (("Max-Forwards: 70\r\n", "Max-Forwards: 70\n"), "a bare LF"),
        ((";rport\r\n", ";rport, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKx\r\n"), "two Vias on a line"),
        (("Expires:", "From: <sip:x@y>;tag=2\r\nExpires:"), "From twice"),
        (("Call-ID: 1-reg@127.0.0.1\r\n", ""), "no Call-ID"),
        (("CSeq: 1 REGISTER", "CSeq: 1 INVITE"), "a CSeq of another method"),
        (("CSeq: 1 REGISTER", "CSeq: REGISTER"), "a CSeq without a number"),
        (("SIP/2.0\r\nVia", "SIP/3.0\r\nVia"), "another version"),
        (("Via: SIP/2.0/UDP 127.0.0.1:5061", "Via: SIP/2.0/UDP 127.0.0.1:99999"), "a bad Via"),
        (("Content-Length: 0\r\n\r\n", "Content-Length: 0\r\n"), "no end of the head"),
    ],
)
def test_anything_else_is_left_to_the_full_parser(edit: tuple[str, str], why: str) -> None:
    message = REGISTER.replace(*edit)
    assert message != REGISTER, why
    assert peek_new_request(message.encode()) is None, why


def test_a_response_is_not_a_new_request() -> None:
    response = "SIP/2.0 200 OK\r\n" + REGISTER.split("\r\n", 1)[1]
    assert peek_new_request(response.encode()) is None


@pytest.mark.parametrize("name", sorted(path.stem for path in VECTORS.glob("*.dat")))
def test_a_torture_message_read_here_gets_a_well_formed_answer(name: str) -> None:
    """RFC 4475's messages: whatever is read here is answered with a response the full parser
    reads back, with the request's Call-ID and CSeq, and is `readable` exactly when the full
    parser takes it (so a malformed request never gets a challenge instead of its 400); the
    rest is left alone."""
    data = load(name)
    request = peek_new_request(data)
    if request is None:
        return
    answer = parse_message(request.response(503, "Service Unavailable", []))
    assert isinstance(answer, Response) and answer.status == 503
    try:
        full = parse_message(data)
    except ParseError as err:
        assert not request.readable()
        full = err.request  # what a 400 would be built from
    else:
        assert request.readable()
    assert isinstance(full, Request), "read here, but the full parser would answer nothing"
    assert answer.call_id == full.call_id
    assert str(answer.cseq) == str(full.cseq)
    with contextlib.suppress(ParseError):  # a To the full parser cannot read either
        assert full.to_addr.tag is None


MALFORMED = {
    "a Content-Length past the body": REGISTER.replace("Content-Length: 0", "Content-Length: 9"),
    "a CSeq number that is not one": REGISTER.replace("CSeq: 1 ", "CSeq: one "),
    "a From the parser cannot read": REGISTER.replace("From: <sip:", "From: <sip:5550001@"),
    "a bad Max-Forwards": REGISTER.replace("Max-Forwards: 70", "Max-Forwards: seventy"),
    "two Max-Forwards": REGISTER.replace("Max-Forwards: 70", "Max-Forwards: 70\r\nMax-Forwards: 1"),
    "headers in the Request-URI": REGISTER.replace("127.0.0.1:5060 SIP", "127.0.0.1?X=1 SIP"),
    "an empty Call-ID": REGISTER.replace("Call-ID: 1-reg@127.0.0.1", "Call-ID: "),
    "a header name with a space": REGISTER.replace("Expires:", "Expi res:"),
    "too many fields": REGISTER.replace("Expires: 3600\r\n", "Subject: x\r\n" * 300),
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_request_the_full_parser_refuses_is_not_readable_here(text: str) -> None:
    with pytest.raises(ParseError):
        parse_message(text.encode())
    request = peek_new_request(text.encode())
    assert request is None or not request.readable()


def test_a_request_in_the_usual_form_is_readable() -> None:
    request = peek_new_request(REGISTER.encode())
    assert request is not None and request.readable() and not request.requires
    required = peek_new_request(REGISTER.replace("Expires", "Require: gruu\r\nExpires").encode())
    assert required is not None and required.requires


def ack(to: str, *, folded: bool = False, line_end: str = "\r\n") -> bytes:
    to_line = f"To:{line_end} {to}" if folded else f"To: {to}"
    lines = [
        "ACK sip:5552999@127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1",
        "From: <sip:5551001@127.0.0.1>;tag=ovl-caller-chose-this",
        to_line,
        "Call-ID: a@test",
        "CSeq: 1 ACK",
        "Content-Length: 0",
    ]
    return (line_end.join(lines) + line_end * 2).encode()


@pytest.mark.parametrize(
    ("data", "ours"),
    [
        (ack("<sip:5552999@127.0.0.1>;tag=ovl-0badcafe"), True),
        (ack("<sip:5552999@127.0.0.1>;tag=ovl-0badcafe", folded=True), True),
        (ack("<sip:5552999@127.0.0.1>;tag=ovl-0badcafe", line_end="\n"), True),
        (ack("<sip:5552999@127.0.0.1>;tag=callee"), False),  # the From tag is the caller's
        (ack("<sip:5552999@127.0.0.1;tag=ovl-in-the-uri>;tag=callee"), False),
        (ack('"unclosed <sip:5552999@127.0.0.1>;tag=ovl-0badcafe'), False),
        (ack("<sip:5552999@127.0.0.1>;tag=ovl-0badcafe").replace(b"ACK ", b"BYE ", 1), False),
    ],
    ids=["ours", "folded", "bare LF", "another tag", "in the URI", "unreadable To", "a BYE"],
)
def test_the_ack_of_a_refusal_is_told_by_its_to_tag(data: bytes, ours: bool) -> None:
    assert is_refusal_ack(data) is ours
