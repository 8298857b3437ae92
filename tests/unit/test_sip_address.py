"""name-addr values (From, To, Contact, Route), Via and CSeq, parsed on their own."""

from __future__ import annotations

import pytest

from softswitch.sip import (
    AbsoluteURI,
    CSeq,
    NameAddr,
    ParseError,
    SipURI,
    Via,
    parse_cseq,
    parse_name_addr,
    parse_uri,
    parse_via,
)

# -- name-addr and addr-spec ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "display", "uri", "params"),
    [
        ("<sip:alice@atlanta.com>", None, "sip:alice@atlanta.com", {}),
        ("sip:alice@atlanta.com", None, "sip:alice@atlanta.com", {}),
        ("sip:alice@atlanta.com;tag=1", None, "sip:alice@atlanta.com", {"tag": "1"}),
        ("sip:alice@atlanta.com ; tag = 1", None, "sip:alice@atlanta.com", {"tag": "1"}),
        ("Alice <sip:alice@atlanta.com>;tag=1", "Alice", "sip:alice@atlanta.com", {"tag": "1"}),
        ("Alice  Liddell\t<sip:a@b.com>", "Alice Liddell", "sip:a@b.com", {}),
        ('"Alice" <sip:a@b.com>', "Alice", "sip:a@b.com", {}),
        ('"A \\"B\\" C" <sip:a@b.com>', 'A "B" C', "sip:a@b.com", {}),
        ('"semi;colon, comma <x>"<sip:a@b.com>', "semi;colon, comma <x>", "sip:a@b.com", {}),
        ('"back\\\\slash" <sip:a@b.com>', "back\\slash", "sip:a@b.com", {}),
        ('"Ünïcödé" <sip:a@b.com>', "Ünïcödé", "sip:a@b.com", {}),
        (
            '<sip:a@b.com;lr;transport=tcp>;expires=60;q=0.5;+sip.instance="<urn:uuid:1>"',
            None,
            "sip:a@b.com;lr;transport=tcp",
            {"expires": "60", "q": "0.5", "+sip.instance": '"<urn:uuid:1>"'},
        ),
        ("<tel:+1-201-555-0123>;tag=x", None, "tel:+1-201-555-0123", {"tag": "x"}),
        ("<sip:[2001:db8::1]:5060>", None, "sip:[2001:db8::1]:5060", {}),
    ],
)
def test_name_addr(text: str, display: str | None, uri: str, params: dict[str, str]) -> None:
    value = parse_name_addr(text)
    assert value.display == display
    assert str(value.uri) == uri
    assert value.params == params
    again = parse_name_addr(str(value))
    assert (again.display, str(again.uri), again.params) == (display, uri, params)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '"unterminated <sip:a@b.com>',
        '"Alice" sip:a@b.com',
        "Alice, Bob <sip:a@b.com>",
        "Al@ce <sip:a@b.com>",
        "<sip:a@b.com",
        "< sip:a@b.com>",
        "<sip:a@b.com >",
        "<sip:a@b.com> junk",
        "<sip:a@b.com>;;tag=1",
        "<sip:a@b.com>;tag=1;",
        "<sip:a@b.com>;tag=1;tag=2",
        "<sip:a@b.com>;=1",
        "<sip:a@b.com>;tag=",
        "<sip:a@b.com>;tag=a b",
        '<sip:a@b.com>;tag="open',
        'sip:a@b.com;x="a"b"',
        "sip:a@b.com?subject=x",
        "sip:a b@c.com",
        "sip:a@b.com;",
        "not a uri",
        '"A\\',
    ],
)
def test_bad_name_addr(text: str) -> None:
    with pytest.raises(ParseError):
        parse_name_addr(text)


def test_an_empty_quoted_display_name_is_no_display_name() -> None:
    value = parse_name_addr('"" <sip:a@b.com>')
    assert value.display == ""
    assert str(value) == "<sip:a@b.com>"


def test_addr_spec_parameters_belong_to_the_header() -> None:
    value = parse_name_addr("sip:a@b.com;transport=tcp;tag=1")
    assert isinstance(value.uri, SipURI)
    assert value.uri.params == {}
    assert value.params == {"transport": "tcp", "tag": "1"}
    assert str(value) == "<sip:a@b.com>;transport=tcp;tag=1"


def test_name_addr_writing_quotes_only_when_needed() -> None:
    uri = parse_uri("sip:a@b.com")
    assert str(NameAddr(uri, "Alice")) == "Alice <sip:a@b.com>"
    assert str(NameAddr(uri, "Alice Liddell")) == "Alice Liddell <sip:a@b.com>"
    assert str(NameAddr(uri, "Liddell, Alice")) == '"Liddell, Alice" <sip:a@b.com>'
    assert str(NameAddr(uri, "  padded ")) == '"  padded " <sip:a@b.com>'
    assert str(NameAddr(uri, 'say "hi"')) == '"say \\"hi\\"" <sip:a@b.com>'
    assert str(NameAddr(uri, "bell\x07")) == '"bell\\\x07" <sip:a@b.com>'
    assert str(NameAddr(uri, "tab\there")) == '"tab\there" <sip:a@b.com>'
    assert str(NameAddr(uri, "")) == "<sip:a@b.com>"
    assert str(NameAddr(uri, None, {"tag": "1", "lr": None})) == "<sip:a@b.com>;tag=1;lr"
    with pytest.raises(ValueError):
        str(NameAddr(uri, "line\r\nbreak"))


def test_with_tag_leaves_the_original_alone() -> None:
    original = parse_name_addr("Bob <sip:bob@biloxi.com>;x=1")
    tagged = original.with_tag("abc")
    assert tagged.tag == "abc"
    assert original.tag is None
    assert str(tagged) == "Bob <sip:bob@biloxi.com>;x=1;tag=abc"


def test_unknown_schemes_in_addresses() -> None:
    assert isinstance(parse_name_addr("<urn:service:sos>").uri, AbsoluteURI)
    assert str(parse_name_addr("mailto:a@b.com;tag=1").uri) == "mailto:a@b.com"


# -- Via -----------------------------------------------------------------------------------


def test_via_fields() -> None:
    via = parse_via(
        "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bKnashds8;received=192.0.2.1"
        ";rport=5067;ttl=16;maddr=239.255.255.1;x"
    )
    assert (via.transport, via.host, via.port, via.version) == (
        "UDP",
        "pc33.atlanta.com",
        5066,
        "2.0",
    )
    assert via.branch == "z9hG4bKnashds8"
    assert via.branch.startswith(Via.MAGIC_COOKIE)
    assert via.received == "192.0.2.1"
    assert (via.rport, via.has_rport) == (5067, True)
    assert via.maddr == "239.255.255.1"
    assert via.params["ttl"] == "16"
    assert via.params["x"] is None
    assert via.sent_by == ("pc33.atlanta.com", 5066)
    assert str(via) == (
        "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bKnashds8;received=192.0.2.1"
        ";rport=5067;ttl=16;maddr=239.255.255.1;x"
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        # §18.2.2: the sent-by host and port, 5060 when there is none
        ("SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1", ("pc33.atlanta.com", 5060)),
        ("SIP/2.0/UDP pc33.atlanta.com:5070;branch=z9hG4bK1", ("pc33.atlanta.com", 5070)),
        # received: the source address, the sent-by port
        ("SIP/2.0/UDP pc33.atlanta.com:5070;received=192.0.2.1", ("192.0.2.1", 5070)),
        # RFC 3581: received and rport both given
        ("SIP/2.0/UDP 10.0.0.2:5070;rport=62000;received=192.0.2.1", ("192.0.2.1", 62000)),
        # an rport the server did not fill in: as if there were none
        ("SIP/2.0/UDP pc33.atlanta.com:5070;rport", ("pc33.atlanta.com", 5070)),
        # maddr: the multicast address and the sent-by port; rport does not apply
        (
            "SIP/2.0/UDP pc33.atlanta.com:5070;maddr=239.255.255.1;ttl=1;received=192.0.2.1"
            ";rport=62000",
            ("239.255.255.1", 5070),
        ),
        ("SIP/2.0/UDP pc33.atlanta.com;maddr=239.255.255.1", ("239.255.255.1", 5060)),
        # IPv6: brackets dropped for the socket
        ("SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1", ("2001:db8::1", 5060)),
        ("SIP/2.0/UDP [2001:db8::1];received=2001:db8::9;rport=5099", ("2001:db8::9", 5099)),
        ("SIP/2.0/UDP h;maddr=[ff02::1]", ("ff02::1", 5060)),
    ],
)
def test_response_address(text: str, address: tuple[str, int]) -> None:
    assert parse_via(text).response_address() == address


def test_response_address_default_port_is_the_callers() -> None:
    assert parse_via("SIP/2.0/TLS h.example.com").response_address(5061) == ("h.example.com", 5061)


@pytest.mark.parametrize(
    ("text", "transport", "host", "port"),
    [
        ("SIP/2.0/UDP h.example.com", "UDP", "h.example.com", None),
        ("sip/2.0/udp h.example.com", "UDP", "h.example.com", None),
        ("SIP / 2.0 / TCP  h.example.com : 5070 ;branch=z9hG4bK1", "TCP", "h.example.com", 5070),
        ("SIP/2.0/UDP\th.example.com", "UDP", "h.example.com", None),
        ("  SIP/2.0/WSS   h.example.com:443  ", "WSS", "h.example.com", 443),
        ("SIP/2.0/UDP [2001:db8::1]:5060", "UDP", "[2001:db8::1]", 5060),
        ("SIP/2.0/UDP [2001:db8::1] : 5060", "UDP", "[2001:db8::1]", 5060),
    ],
)
def test_via_spacing(text: str, transport: str, host: str, port: int | None) -> None:
    via = parse_via(text)
    assert (via.transport, via.host, via.port) == (transport, host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SIP/2.0",
        "SIP/2.0/UDP",
        "SIP/2.0/UDP ",
        "SIP/2.0/UDPh.example.com",
        "HTTP/1.1/TCP h.example.com",
        "SIP//UDP h.example.com",
        "SIP/2.0/ h.example.com",
        "SIP/2.0/U@P h.example.com",
        "SIP/2.0/UDP user@h.example.com",
        "SIP/2.0/UDP h.example.com:abc",
        "SIP/2.0/UDP h.example.com:99999",
        "SIP/2.0/UDP h.example.com:²",
        "SIP/2.0/UDP h example.com",
        "SIP/2.0/UDP h.example.com;",
        "SIP/2.0/UDP h.example.com;;branch=z9hG4bK1",
        "SIP/2.0/UDP h.example.com;rport=x",
        "SIP/2.0/UDP h.example.com;rport=²",
        "SIP/2.0/UDP h.example.com;ttl=-1",
        "SIP/2.0/UDP h.example.com;branch=a;branch=b",
        "SIP/2.0/UDP [2001:db8::1",
    ],
)
def test_bad_via(text: str) -> None:
    with pytest.raises(ParseError):
        parse_via(text)


def test_a_via_of_another_version_keeps_it() -> None:
    via = parse_via("SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw")
    assert via.version == "7.0"
    assert str(via) == "SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw"


def test_via_built_by_hand() -> None:
    via = Via("tcp", "[2001:db8::1]", 5070, {"branch": "z9hG4bKx", "rport": None})
    assert str(via) == "SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx;rport"
    assert repr(via) == "Via('SIP/2.0/TCP [2001:db8::1]:5070;branch=z9hG4bKx;rport')"
    assert str(Via("UDP", "h")) == "SIP/2.0/UDP h"


# -- CSeq ----------------------------------------------------------------------------------


def test_cseq() -> None:
    cseq = parse_cseq("  0042\t INVITE ")
    assert (cseq.number, cseq.method) == (42, "INVITE")
    assert str(cseq) == "42 INVITE"
    assert repr(CSeq(1, "BYE")) == "CSeq(1, 'BYE')"
    assert parse_cseq(f"{2**31 - 1} X").number == 2**31 - 1


@pytest.mark.parametrize(
    "text", ["", "1", "INVITE", "1 ", f"{2**31} INVITE", "1 IN VITE", "1 IN\x00", "x INVITE"]
)
def test_bad_cseq(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cseq(text)
