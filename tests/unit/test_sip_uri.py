"""SIP, SIPS, tel and other URIs: parsing, writing back, address-of-record form and hashing."""

from __future__ import annotations

import pytest

from softswitch.sip import (
    AbsoluteURI,
    ParseError,
    SipURI,
    TelURI,
    parse_sip_uri,
    parse_uri,
    uri_equal,
)


def sip(text: str) -> SipURI:
    uri = parse_uri(text)
    assert isinstance(uri, SipURI)
    return uri


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("sip:[2001:db8::1]", "[2001:db8::1]", None),
        ("sip:alice@[2001:db8::1]:5060", "[2001:db8::1]", 5060),
        ("sips:[::1]:5061;transport=tls", "[::1]", 5061),
        ("sip:bob@[::ffff:192.0.2.1]:5070", "[::ffff:192.0.2.1]", 5070),
        ("sip:bob@192.0.2.1:1", "192.0.2.1", 1),
        ("sip:bob@host-name.example.com:65535", "host-name.example.com", 65535),
    ],
)
def test_hosts_and_ports(text: str, host: str, port: int | None) -> None:
    uri = sip(text)
    assert (uri.host, uri.port) == (host, port)
    assert uri.host_port == (host if port is None else f"{host}:{port}")
    assert str(uri) == text


def test_user_password_and_headers() -> None:
    uri = sip("sips:alice:secret@atlanta.com:5061;transport=tcp?Subject=x&Priority=y")
    assert (uri.scheme, uri.user, uri.password) == ("sips", "alice", "secret")
    assert (uri.host, uri.port) == ("atlanta.com", 5061)
    assert uri.params == {"transport": "tcp"}
    assert uri.headers == {"Subject": "x", "Priority": "y"}
    assert uri.transport == "tcp"
    assert str(uri) == "sips:alice:secret@atlanta.com:5061;transport=tcp?Subject=x&Priority=y"
    assert uri.aor == "sips:alice@atlanta.com"


def test_an_empty_password_is_a_password() -> None:
    uri = sip("sip:alice:@atlanta.com")
    assert uri.password == ""
    assert not uri_equal(uri, sip("sip:alice@atlanta.com"))
    assert str(uri) == "sip:alice:@atlanta.com"


def test_scheme_is_case_insensitive_and_written_lower_case() -> None:
    uri = sip("SIPS:Alice@Atlanta.COM")
    assert uri.scheme == "sips"
    assert uri.aor == "sips:Alice@atlanta.com"  # the user part keeps its case


def test_aor_drops_port_parameters_and_headers_and_resolves_unreserved_escapes() -> None:
    assert sip("sip:%61lice@AtLanTa.com:5070;transport=tcp?x=y").aor == "sip:alice@atlanta.com"
    assert sip("sip:a%3bb@x.com").aor == sip("sip:a%3Bb@x.com").aor == "sip:a%3Bb@x.com"
    assert sip("sip:a%3bb@x.com").aor != sip("sip:a;b@x.com").aor
    assert sip("sip:x.com").aor == "sip:x.com"


def test_copy_is_independent() -> None:
    uri = sip("sip:alice@atlanta.com;transport=tcp?x=1")
    copy = uri.copy()
    copy.params["lr"] = None
    copy.headers["y"] = "2"
    assert uri.params == {"transport": "tcp"}
    assert uri.headers == {"x": "1"}
    assert copy == sip("sip:alice@atlanta.com;transport=tcp;lr?x=1&y=2")


def test_equal_uris_hash_alike() -> None:
    a, b = sip("sip:%61lice@ATLANTA.com"), sip("sip:alice@atlanta.com;lr")
    assert a == b
    assert len({a, b}) == 1


def test_tel_uris() -> None:
    uri = parse_uri("tel:+1-201-555-0123;phone-context=Example.com")
    assert isinstance(uri, TelURI)
    assert uri.number == "+1-201-555-0123"
    assert uri.digits == "+12015550123"
    assert str(uri) == "tel:+1-201-555-0123;phone-context=Example.com"
    assert uri == parse_uri("tel:+1(201)555.0123;phone-context=example.com")
    assert uri != parse_uri("tel:+1-201-555-0124;phone-context=example.com")
    assert uri != parse_uri("tel:+1-201-555-0123")
    local = parse_uri("tel:7042;phone-context=example.com")
    assert isinstance(local, TelURI)
    assert local.digits == "7042"
    assert hash(uri) == hash(parse_uri("tel:+12015550123;phone-context=example.com"))


def test_other_schemes_are_kept_as_text() -> None:
    for text in ("mailto:alice@atlanta.com", "urn:service:sos", "http://www.example.com/x?y"):
        uri = parse_uri(text)
        assert isinstance(uri, AbsoluteURI)
        assert str(uri) == text
    assert parse_uri("urn:service:sos") == AbsoluteURI("urn:service:sos")
    assert parse_uri("URN:service:sos").scheme == "urn"


def test_parse_sip_uri_refuses_other_schemes() -> None:
    assert parse_sip_uri("sip:a@b").user == "a"
    for text in ("tel:+123", "mailto:a@b"):
        with pytest.raises(ParseError):
            parse_sip_uri(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip",
        ":alice@atlanta.com",
        "sip:",
        "sip:@atlanta.com",
        "sip:alice@",
        "sip:alice@atlanta.com:",
        "sip:alice@atlanta.com:0",
        "sip:alice@atlanta.com:65536",
        "sip:alice@atlanta.com:5o60",
        "sip:alice@atlanta.com:²",
        "sip:alice@atlanta.com:٥٠٦٠",
        "sip:alice@atlan ta.com",
        "sip:alice @atlanta.com",
        "sip:alice@atlanta.com\t",
        "sip:alice@atlanta.com;",
        "sip:alice@atlanta.com;;lr",
        "sip:alice@atlanta.com;=x",
        "sip:alice@atlanta.com?",
        "sip:alice@atlanta.com?x",
        "sip:alice@atlanta.com?=x",
        "sip:alice@at<lanta.com",
        'sip:alice@"atlanta".com',
        "sip:alice@atlanta.com>",
        "sip:alice@atlanta\x00.com",
        "sip:alice@[2001:db8::1",
        "sip:alice@[2001:db8::g]",
        "sip:alice@[]",
        "sip:alice@[2001:db8::1]x",
        "sip:alice@atlanta..com/x",
        "sip:ali\u00e7e@atlant\u00e4.com",
        "tel:",
        "tel:xyz",
        "tel:+1 234",
        "1sip:alice@atlanta.com",
        "<sip:alice@atlanta.com>",
        "si p:alice@atlanta.com",
        "x:",
    ],
)
def test_malformed_uris(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_uri(text)
    assert info.value.status == 400


def test_user_part_may_hold_reserved_characters() -> None:
    """RFC 3261 §25: user-unreserved ("&" "=" "+" "$" "," ";" "?" "/") and ":" separates the
    password; the first "@" ends the userinfo (RFC 4475 §3.1.1.2)."""
    uri = sip("sip:a&b=c+d$e,f;g?h/i:p&w=d@example.com;lr?h=v")
    assert uri.user == "a&b=c+d$e,f;g?h/i"
    assert uri.password == "p&w=d"
    assert (uri.host, uri.params, uri.headers) == ("example.com", {"lr": None}, {"h": "v"})
    assert str(uri) == "sip:a&b=c+d$e,f;g?h/i:p&w=d@example.com;lr?h=v"


def test_parameter_names_are_case_insensitive_values_keep_their_case() -> None:
    uri = sip("sip:alice@atlanta.com;Transport=TCP;MAddr=239.255.255.1;TTL=15;Lr")
    assert uri.params == {"transport": "TCP", "maddr": "239.255.255.1", "ttl": "15", "lr": None}
    assert uri.transport == "tcp"
    assert str(uri) == "sip:alice@atlanta.com;transport=TCP;maddr=239.255.255.1;ttl=15;lr"


def test_uri_equality_with_other_types() -> None:
    uri = sip("sip:alice@atlanta.com")
    assert uri != "sip:alice@atlanta.com"
    assert uri != parse_uri("tel:+1234")
    assert parse_uri("tel:+1234") != AbsoluteURI("tel:+1234")
