"""RFC 4475 (SIP Torture Test Messages) as parser vectors.

Each test names the RFC's tag for its message and asserts what RFC 4475 says an element does
with it. At this layer "respond with 400" means `parse_message` raises ParseError carrying the
partial request a 400 is built from; "discard" means ParseError without one. The messages are
in `vectors/rfc4475/` in the RFC's own notation (see the README there).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from softswitch.sip import (
    AbsoluteURI,
    FramingError,
    ParseError,
    Request,
    Response,
    SipURI,
    StreamFramer,
    make_response,
    parse_message,
    parse_uri,
    uri_equal,
)

VECTORS = Path(__file__).parent / "vectors" / "rfc4475"

_TAG = re.compile(r"<hex>([0-9A-Fa-f]*)</hex>|<repeat count=(\d+)>(.*?)</repeat>")


def _expand(line: str) -> bytes:
    out = bytearray()
    pos = 0
    for match in _TAG.finditer(line):
        out += line[pos : match.start()].encode()
        if match[1] is not None:
            out += bytes.fromhex(match[1])
        else:
            out += match[3].encode() * int(match[2])
        pos = match.end()
    out += line[pos:].encode()
    return bytes(out)


def load(name: str) -> bytes:
    """The bytes of one RFC 4475 message (RFC 4475 §2 conventions, CRLF line ends)."""
    lines = (VECTORS / f"{name}.dat").read_text(encoding="utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    if "" not in lines:
        lines.append("")  # a message without a body ends with the empty line
    out = bytearray()
    joined: list[str] | None = None
    for line in lines:
        if line == "<allOneLine>":
            joined = []
        elif line == "</allOneLine>":
            assert joined is not None
            out += _expand("".join(joined)) + b"\r\n"
            joined = None
        elif joined is not None:
            joined.append(line)
        else:
            out += _expand(line) + b"\r\n"
    return bytes(out)


def parse_request(name: str) -> Request:
    message = parse_message(load(name))
    assert isinstance(message, Request)
    return message


def refused(name: str, *, datagram: bool = True) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_message(load(name), datagram=datagram)
    return info.value


def assert_answered_with(err: ParseError, status: int) -> Request:
    """The element answers: the error carries the request, and a response can be built from
    it (copying Via, From, To, Call-ID and CSeq as they came, broken or not)."""
    assert err.status == status
    assert isinstance(err.request, Request)
    response = make_response(err.request, status, err.reason, to_tag="t1")
    assert response.to_bytes().startswith(f"SIP/2.0 {status} ".encode())
    assert response.header("call-id") == err.request.header("call-id")
    assert response.header("cseq") == err.request.header("cseq")
    assert response.header_values("via") == err.request.header_values("via")
    return err.request


def test_vectors_are_all_used() -> None:
    names = {path.stem for path in VECTORS.glob("*.dat")}
    tested = {name.removeprefix("test_").split("_")[0] for name in globals()}
    assert names <= tested


# -- §3.1.1 valid messages: must parse -----------------------------------------------------


def test_wsinv_short_tortuous_invite() -> None:
    """§3.1.1.1: folding everywhere, escaped quotes, empty Subject, LWS around every
    separator, long and compact names mixed, unknown headers: a well-formed request."""
    msg = parse_request("wsinv")
    assert msg.method == "INVITE"
    ruri = msg.request_uri
    assert isinstance(ruri, SipURI)
    assert (ruri.user, ruri.host, ruri.params) == (
        "vivekg",
        "chair-dnrc.example.com",
        {"unknownparam": None},
    )
    assert str(msg.to_addr.uri) == "sip:vivekg@chair-dnrc.example.com"
    assert msg.to_addr.tag == "1918181833n"
    assert msg.from_addr.display == 'J Rosenberg \\"'
    assert str(msg.from_addr.uri) == "sip:jdrosen@example.com"
    assert msg.from_addr.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert msg.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert (msg.cseq.number, msg.cseq.method) == (9, "INVITE")
    vias = [(v.transport, v.host, v.port, v.branch) for v in msg.vias]
    assert vias == [
        ("UDP", "192.0.2.2", None, "390skdjuw"),
        ("TCP", "spindle.example.com", None, "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", None, "z9hG4bK30239"),
    ]
    assert msg.header("subject") == ""
    assert msg.header("newfangledheader") == "newfangled value continued newfangled value"
    # unknown: kept as an opaque value, never split at its commas or semicolons
    assert msg.header_values("UnknownHeaderWithUnusualValue") == [";;,,;;,;"]
    assert msg.header("content-type") == "application/sdp"
    [route] = msg.address_list("route")
    assert isinstance(route.uri, SipURI)
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    [contact] = msg.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert str(contact.uri) == "sip:jdrosen@example.com"
    assert len(msg.body) == 150
    assert msg.body.startswith(b"v=0\r\n")


def test_wsinv_serializes_to_a_message_that_means_the_same() -> None:
    msg = parse_request("wsinv")
    again = parse_request_bytes(msg.to_bytes())
    assert again.from_addr.display == msg.from_addr.display
    assert [str(v) for v in again.vias] == [str(v) for v in msg.vias]
    assert again.body == msg.body
    assert again.to_bytes() == msg.to_bytes()


def parse_request_bytes(data: bytes) -> Request:
    message = parse_message(data)
    assert isinstance(message, Request)
    return message


def test_intmeth_wide_range_of_valid_characters() -> None:
    """§3.1.1.2: every token character in the method, an unusual Request-URI, quoted-pairs
    of control characters (NUL included) in a display name, UTF-8 in values."""
    method = "!interesting-Method0123456789_*+`.%indeed'~"
    msg = parse_request("intmeth")
    assert msg.method == method
    assert msg.method != "INVITE"
    ruri = msg.request_uri
    assert isinstance(ruri, SipURI)
    assert ruri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert ruri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert (ruri.host, ruri.port, ruri.params, ruri.headers) == ("example.com", None, {}, {})
    assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert msg.to_addr.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    to_uri = msg.to_addr.uri
    assert isinstance(to_uri, SipURI)
    assert to_uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert msg.from_addr.display == "token1~` token2'+_ token3*%!.-"
    assert msg.from_addr.params == {
        "fromparam''~+*_!.-%": '"работающий"',
        "tag": "_token~1'+`*%!-.",
    }
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert (msg.cseq.number, msg.cseq.method) == (139122385, method)
    assert msg.max_forwards == 255
    assert msg.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"
    # the control characters go back out as quoted-pairs, so the display name survives
    again = parse_request_bytes(msg.to_bytes())
    assert again.to_addr.display == msg.to_addr.display
    assert str(again.to_addr) == str(msg.to_addr)


def test_esc01_valid_use_of_escaping() -> None:
    """§3.1.1.3: % HEX HEX in user parts and URI parameters; the expansions are equivalent to
    the characters, but never recursively: value%41 is not valueA."""
    msg = parse_request("esc01")
    ruri = msg.request_uri
    assert isinstance(ruri, SipURI)
    assert (ruri.user, ruri.host) == ("sips%3Auser%40example.com", "example.net")
    to_uri = msg.to_addr.uri
    assert isinstance(to_uri, SipURI)
    assert uri_equal(to_uri, parse_sip("sip:user@example.com"))
    from_uri = msg.from_addr.uri
    assert isinstance(from_uri, SipURI)
    assert from_uri.user == "I%20have%20spaces"
    assert msg.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert msg.header("content-type") == "application/sdp"
    [contact] = msg.contacts
    assert isinstance(contact.uri, SipURI)
    assert uri_equal(contact.uri, parse_sip("sip:caller@host5.example.net;lr;name=value%2541"))
    assert not uri_equal(contact.uri, parse_sip("sip:caller@host5.example.net;lr;name=valueA"))
    assert len(msg.body) == 150


def parse_sip(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri


def test_escnull_escaped_nulls_in_uris() -> None:
    """§3.1.1.4: %00 in user parts is well formed; the AOR must not be cut short at the NUL,
    and the two Contacts are two distinct bindings."""
    msg = parse_request("escnull")
    to_uri = msg.to_addr.uri
    assert isinstance(to_uri, SipURI)
    assert to_uri.user == "null-%00-null"
    assert to_uri.aor == "sip:null-%00-null@example.com"
    first, second = (c.uri for c in msg.contacts)
    assert isinstance(first, SipURI) and isinstance(second, SipURI)
    assert (first.user, second.user) == ("%00", "%00%00")
    assert not uri_equal(first, second)
    assert first.aor != second.aor


def test_esc02_percent_that_is_not_an_escape() -> None:
    """§3.1.1.5: RE%47IST%45R is an unknown method, not REGISTER; "%Z%45" is a display name
    as written; C%6Fntact is an unknown header, so there are two Contacts, not three."""
    msg = parse_request("esc02")
    assert msg.method == "RE%47IST%45R"
    assert msg.cseq.method == "RE%47IST%45R"
    assert msg.to_addr.display == "%Z%45"
    assert msg.from_addr.display == "%Z%45"
    assert msg.top_via.branch == "z9hG4bK209%fzsnel234"
    assert [str(c.uri) for c in msg.contacts] == [
        "sip:alias1@host1.example.com",
        "sip:alias3@host3.example.com",
    ]
    assert msg.header("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_lwsdisp_no_lws_between_display_name_and_laquot() -> None:
    """§3.1.1.6: `caller<sip:...>` is to be accepted."""
    msg = parse_request("lwsdisp")
    assert msg.from_addr.display == "caller"
    assert str(msg.from_addr.uri) == "sip:caller@example.com"
    assert msg.from_addr.tag == "323"


def test_longreq_long_values_in_header_fields() -> None:
    """§3.1.1.7: long display names, parameters, tags and Call-ID; 34 Via values spelled
    with every case and spacing of Via and v."""
    msg = parse_request("longreq")
    assert len(msg.vias) == 34
    assert [v.host for v in msg.vias[:3]] == [
        "sip33.example.com",
        "sip32.example.com",
        "sip31.example.com",
    ]
    last = msg.vias[-1]
    assert last.received == "192.0.2.5"
    assert last.branch == "very" + "long" * 50 + "branchvalue"
    assert msg.to_addr.display == "I have a user name of " + "extreme" * 10 + " proportion"
    to_uri = msg.to_addr.uri
    assert isinstance(to_uri, SipURI)
    assert to_uri.port == 6000
    assert len(to_uri.params) == 3
    assert msg.from_addr.tag == "12" + "982" * 50 + "424"
    assert len(msg.from_addr.params) == 3
    assert msg.call_id == "longreq.one" + "really" * 20 + "longcallid"
    assert msg.header("Unknown-" + "Long" * 20 + "-Name") is not None
    [contact] = msg.contacts
    assert str(contact.uri) == "sip:" + "amazinglylongcallername" * 5 + "@host5.example.net"
    assert len(msg.body) == 150


def test_dblreq_extra_trailing_octets_in_a_datagram() -> None:
    """§3.1.1.8: the REGISTER is handled normally and the INVITE after its Content-Length is
    ignored; forwarded, the INVITE octets must not appear."""
    msg = parse_request("dblreq")
    assert msg.method == "REGISTER"
    assert msg.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"
    assert msg.body == b""
    assert b"INVITE" not in msg.to_bytes()


def test_semiuri_semicolon_in_the_user_part() -> None:
    """§3.1.1.9: the user part is `user;par=u%40example.net`, no URI parameters."""
    msg = parse_request("semiuri")
    ruri = msg.request_uri
    assert isinstance(ruri, SipURI)
    assert (ruri.user, ruri.host, ruri.params) == ("user;par=u%40example.net", "example.com", {})
    assert msg.header_values("accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


def test_transports_varied_and_unknown_transport_types() -> None:
    """§3.1.1.10: SCTP, TLS and an unknown transport in Via are well formed."""
    msg = parse_request("transports")
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert msg.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_mpart01_multipart_body_with_binary_part() -> None:
    """§3.1.1.11: a body with NULs (and here a CRLFCRLF) is framed by Content-Length.

    The binary part is shorter than the RFC's S/MIME signature; Content-Length matches it."""
    data = load("mpart01")
    msg = parse_request_bytes(data)
    assert msg.method == "MESSAGE"
    assert len(msg.body) == int(msg.header("content-length") or "")
    assert b"\x00" in msg.body
    assert msg.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert msg.top_via.has_rport and msg.top_via.rport is None
    assert msg.top_via.port == 5070
    assert (msg.header("identity") or "").endswith("hkMWYUA=")
    assert [str(r.uri) for r in msg.address_list("route")] == ["sip:127.0.0.1:5080"]
    # and on a stream, in pieces
    framer = StreamFramer()
    out = [item for i in range(0, len(data), 7) for item in framer.feed(data[i : i + 7])]
    assert out == [data]


def test_unreason_unusual_reason_phrase() -> None:
    """§3.1.1.12: a reason phrase with non-ASCII UTF-8 is well formed."""
    msg = parse_message(load("unreason"))
    assert isinstance(msg, Response)
    assert msg.status == 200
    assert msg.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"
    assert len(msg.body) == 154
    assert parse_message(msg.to_bytes()).to_bytes() == msg.to_bytes()


def test_noreason_empty_reason_phrase() -> None:
    """§3.1.1.13: `SIP/2.0 100 ` with nothing after the space is well formed."""
    msg = parse_message(load("noreason"))
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (100, "")
    assert msg.to_bytes().startswith(b"SIP/2.0 100 \r\n")


# -- §3.1.2 invalid messages ---------------------------------------------------------------


def test_badinv01_extraneous_header_field_separators() -> None:
    """§3.1.2.1: `;;,;,,` in Via and `;;;;` in Contact: syntactically invalid.

    Deviation: RFC 4475 has the element answer 400, but the broken field is the top Via,
    the one a response is routed by, so the request is dropped (no partial request)."""
    err = refused("badinv01")
    assert err.status == 400
    assert err.request is None


def test_clerr_content_length_larger_than_the_message() -> None:
    """§3.1.2.2: over UDP, answer 400."""
    assert_answered_with(refused("clerr"), 400)


def test_clerr_on_a_stream_waits_for_the_missing_bytes() -> None:
    """§3.1.2.2: over TCP there is nothing to do but wait for more data."""
    framer = StreamFramer()
    assert framer.feed(load("clerr")) == []
    assert framer.buffered == len(load("clerr"))


def test_ncl_negative_content_length() -> None:
    """§3.1.2.3: answer with an error over UDP; over TCP the framing error is unrecoverable."""
    assert_answered_with(refused("ncl"), 400)
    with pytest.raises(FramingError):
        StreamFramer().feed(load("ncl"))


def test_ncl_non_numeric_content_length() -> None:
    """§3.1.2.3: the same for `Content-Length: five`."""
    data = load("ncl").replace(b"Content-Length: -999", b"Content-Length: five")
    with pytest.raises(ParseError) as info:
        parse_message(data)
    assert_answered_with(info.value, 400)
    with pytest.raises(FramingError):
        StreamFramer().feed(data)


def test_scalar02_request_scalar_fields_with_overlarge_values() -> None:
    """§3.1.2.4: CSeq above 2**32-1 (and Max-Forwards, Expires out of range): answer 400
    because of the CSeq."""
    err = refused("scalar02")
    assert "CSeq" in err.reason
    assert_answered_with(err, 400)


def test_scalarlg_response_scalar_fields_with_overlarge_values() -> None:
    """§3.1.2.5: a response with an overlarge CSeq is simply discarded."""
    assert refused("scalarlg").request is None


def test_quotbal_unterminated_quoted_string_in_display_name() -> None:
    """§3.1.2.6: answer 400. The broken To is copied into it as it came."""
    request = assert_answered_with(refused("quotbal"), 400)
    response = make_response(request, 400, to_tag="t1")
    assert response.header("to") == request.header("to")


def test_ltgtruri_request_uri_in_angle_brackets() -> None:
    """§3.1.2.7: reasonable to always answer 400."""
    assert_answered_with(refused("ltgtruri"), 400)


def test_lwsruri_lws_in_the_request_uri() -> None:
    """§3.1.2.8: answer 400."""
    assert_answered_with(refused("lwsruri"), 400)


def test_lwsstart_multiple_sp_in_the_request_line() -> None:
    """§3.1.2.9: acceptable to reject as malformed (we do: 400)."""
    assert_answered_with(refused("lwsstart"), 400)


def test_trws_sp_at_the_end_of_the_request_line() -> None:
    """§3.1.2.10: acceptable to reject as malformed (we do: 400)."""
    assert_answered_with(refused("trws"), 400)


def test_escruri_escaped_headers_in_the_request_uri() -> None:
    """§3.1.2.11: acceptable to answer 400 (headers are not allowed in a Request-URI)."""
    assert_answered_with(refused("escruri"), 400)


def test_baddate_non_gmt_date_is_not_a_parse_error() -> None:
    """§3.1.2.12: an element should not reject this unless the Date matters to it; the
    parser does not interpret Date, so the request parses."""
    msg = parse_request("baddate")
    assert msg.header("date") == "Fri, 01 Jan 2010 16:00:00 EST"


def test_regbadct_uri_with_headers_not_in_angle_brackets() -> None:
    """§3.1.2.13: reasonable to answer 400. Contact is parsed when it is used (by the
    registrar), so the ParseError comes from `contacts`, not from `parse_message`."""
    msg = parse_request("regbadct")
    with pytest.raises(ParseError) as info:
        msg.contacts  # noqa: B018
    assert info.value.status == 400


def test_badaspec_spaces_inside_angle_brackets() -> None:
    """§3.1.2.14: parsers must not break; reasonable to answer 400 (we do)."""
    assert_answered_with(refused("badaspec"), 400)


def test_baddn_unquoted_display_names_with_non_token_characters() -> None:
    """§3.1.2.15: reasonable to always answer 400 (we do, and never repair the quotes)."""
    assert_answered_with(refused("baddn"), 400)


def test_badvers_sip_version_7() -> None:
    """§3.1.2.16: answer 505 Version Not Supported."""
    request = assert_answered_with(refused("badvers"), 505)
    assert request.version == "SIP/7.0"
    response = make_response(request, 505)
    assert response.to_bytes().startswith(b"SIP/2.0 505 ")
    assert response.header_values("via") == ["SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw"]


def test_mismatch01_cseq_method_does_not_match_the_request_line() -> None:
    """§3.1.2.17: any element answers 400."""
    assert_answered_with(refused("mismatch01"), 400)


def test_mismatch02_unknown_method_with_mismatched_cseq() -> None:
    """§3.1.2.18: 501 is preferred, 400 acceptable; the parser cannot know the method is
    unsupported before it finds the mismatch, so it is 400."""
    assert_answered_with(refused("mismatch02"), 400)


def test_bigcode_overlarge_response_code() -> None:
    """§3.1.2.19: a status code above 699 is simply dropped."""
    assert refused("bigcode").request is None


# -- §3.2 and §3.3: transaction and application layer semantics ----------------------------


def test_badbranch_magic_cookie_without_an_identifier() -> None:
    """§3.2.1: a parser must not break on `branch=z9hG4bK`."""
    msg = parse_request("badbranch")
    assert msg.top_via.branch == "z9hG4bK"


def test_insuf_missing_required_header_fields() -> None:
    """§3.3.1: no Call-ID, From or To; must not break.

    Deviation: RFC 4475 would ideally answer 400, but a response needs the Call-ID, From and
    To it copies, so the request is dropped (no partial request)."""
    err = refused("insuf")
    assert err.request is None


def test_unkscm_unknown_request_uri_scheme() -> None:
    """§3.3.2: answered 416 by the core, so the parser hands over an opaque URI."""
    uri = parse_request("unkscm").request_uri
    assert isinstance(uri, AbsoluteURI)
    assert uri.scheme == "nobodyknowsthisscheme"


def test_novelsc_known_but_atypical_scheme() -> None:
    """§3.3.3: `soap.beep://...` is a well-formed Request-URI."""
    uri = parse_request("novelsc").request_uri
    assert isinstance(uri, AbsoluteURI)
    assert (uri.scheme, str(uri)) == ("soap.beep", "soap.beep://192.0.2.103:3002")


def test_unksm2_unknown_uri_schemes_in_header_fields() -> None:
    """§3.3.4: syntactically valid; a registrar then answers 400 because the To is no
    SIP URI, which it can tell from the parsed value."""
    msg = parse_request("unksm2")
    assert isinstance(msg.to_addr.uri, AbsoluteURI)
    assert str(msg.to_addr.uri) == "isbn:2983792873"
    assert str(msg.from_addr.uri) == "http://www.example.com"
    assert [str(c.uri) for c in msg.contacts] == ["name:John_Smith"]


def test_bext01_unknown_required_extensions() -> None:
    """§3.3.5: the option tags are read as lists (for the 420 and its Unsupported)."""
    msg = parse_request("bext01")
    assert msg.header_values("require") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert msg.header_values("proxy-require") == [
        "noProxiesSupportThis",
        "norDoAnyProxiesSupportThis",
    ]


def test_invut_unknown_content_type() -> None:
    """§3.3.6: parses; the body is kept as bytes for the core to refuse with 415."""
    msg = parse_request("invut")
    assert msg.header("content-type") == "application/unknownformat"
    assert msg.body == b'<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n'


def test_regaut01_unknown_authorization_scheme() -> None:
    """§3.3.7: parses; Authorization is not interpreted by the parser."""
    msg = parse_request("regaut01")
    assert msg.header_values("authorization") == ["NoOneKnowsThisScheme opaque-data=here"]


def test_multi01_multiple_values_in_single_value_fields() -> None:
    """§3.3.8: two CSeq, Call-ID, To, From and Max-Forwards: answer 400."""
    request = assert_answered_with(refused("multi01"), 400)
    response = make_response(request, 400, to_tag="t1")
    assert [name for name, _ in response.fields()] == ["Via", "CSeq", "Call-ID", "From", "To"]
    assert response.header("to") == "sip:user@example.com;tag=t1"


def test_mcl01_multiple_content_length_values() -> None:
    """§3.3.9: answer with an error over UDP; over TCP the connection must be closed."""
    assert_answered_with(refused("mcl01"), 400)
    with pytest.raises(FramingError):
        StreamFramer().feed(load("mcl01"))


def test_cparam01_parameter_after_an_addr_spec_is_a_header_parameter() -> None:
    """§3.3.12: without <>, `;unknownparam` belongs to the Contact, not to the URI."""
    [contact] = parse_request("cparam01").contacts
    assert contact.params == {"unknownparam": None}
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.params == {}


def test_cparam02_parameter_inside_angle_brackets_is_a_uri_parameter() -> None:
    """§3.3.13: inside <>, `;unknownparam` is a URI parameter."""
    [contact] = parse_request("cparam02").contacts
    assert contact.params == {}
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.params == {"unknownparam": None}


def test_regescrt_escaped_header_in_a_contact_uri() -> None:
    """§3.3.14: well formed; the registrar stores the URI with its header."""
    [contact] = parse_request("regescrt").contacts
    assert isinstance(contact.uri, SipURI)
    assert contact.uri.headers == {"Route": "%3Csip:sip.example.com%3E"}
    assert str(contact.uri) == "sip:user@example.com?Route=%3Csip:sip.example.com%3E"


def test_sdp01_accept_offers_nothing_we_know() -> None:
    """§3.3.16: parses; the 406 is the core's decision."""
    msg = parse_request("sdp01")
    assert msg.header_values("accept") == ["text/nobodyKnowsThis"]
    assert len(msg.body) == 150


def test_inv2543_rfc_2543_syntax() -> None:
    """§3.4.1: no branch, no From tag, no Content-Length (the body is the rest of the
    datagram), no Max-Forwards: accepted for backwards compatibility."""
    msg = parse_request("inv2543")
    assert msg.top_via.branch is None
    assert msg.from_addr.tag is None
    assert msg.max_forwards is None
    assert msg.body.startswith(b"v=0\r\n")
    assert msg.body.endswith(b"m=audio 49217 RTP/AVP 0\r\n")
    [record_route] = msg.address_list("record-route")
    assert isinstance(record_route.uri, SipURI)
    assert record_route.uri.params == {"maddr": "ss1.example.com"}
