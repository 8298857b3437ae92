"""The shortcuts of the parser for the common forms of URI, name-addr, Via and parameters build
exactly what the full parser builds, and refuse nothing the full parser accepts (they fall back
to it)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from softswitch.sip import NameAddr, ParseError, Via
from softswitch.sip.address import (
    parse_name_addr,
    parse_name_addr_fully,
    parse_via,
    parse_via_fully,
)
from softswitch.sip.grammar import parse_params, parse_params_fully
from softswitch.sip.uri import URI, parse_uri, parse_uri_fully

EXAMPLES = int(os.environ.get("SIP_PROPERTY_EXAMPLES", "400"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

COMMON_ADDRESSES = [
    "sipp <sip:5551001@127.0.0.1:5061>;tag=1234SIPpTag001",
    "<sip:5552999@127.0.0.1:5070>",
    '"Ada Lovelace" <sip:5551100@exchange.example;user=phone>;tag=a1',
    '"" <sip:a@b>',
    "Operator  Ada <sip:a@b>",
    "<sip:127.0.0.1:5070;lr;ftag=1234SIPpTag001>",
    "<sip:bob@host:65536>",
    "<sip:bob@host:0>",
    "<sip:bob@host:5060>;tag=x;tag=y",
    "<sip:bob@host>;tag=",
    "<sip:bob@host>;=x",
    "<sip:bob@host;;lr>",
    "<sip:bob@host;transport=TCP>;expires=60;q=0.5",
    "<sip:b%61b@host>",
    "<sip:b@host@other>",
    "<sip:host;x=a@b>",
    "<sip:user:pw@host>",
    "<sip:user@host?subject=x>",
    "<sip:user@[::1]:5060>",
    "<sips:user@host>",
    "<SIP:user@host>",
    '"quoted \\" pair" <sip:a@b>',
    "<sip:a@b> ;tag=1",
    "<sip:a@b>;tag=1 ",
    "<sip:a@b>junk",
    '<sip:a@b>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-000000000000>"',
    '<sip:a@b>;reg-id=1;+sip.instance="<urn:x>"',
    "<sip:a@bad host>",
    "a,b <sip:a@b>",
]

COMMON_VIAS = [
    "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1234-1-0",
    "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport=5070;received=127.0.0.1",
    "SIP/2.0/TCP host.example;branch=z9hG4bK1;rport",
    "SIP/2.0/udp host:0;branch=x",
    "SIP/2.0/UDP host:70000;branch=x",
    "SIP/2.0/UDP host;rport=abc",
    "SIP/2.0/UDP host;ttl=1x",
    "SIP/2.0/UDP host;branch=a;branch=b",
    "SIP/2.0/UDP host;;branch=a",
    "SIP/2.0/UDP host;branch=",
    "SIP/2.0/UDP [::1]:5060;branch=a",
    "SIP / 2.0 / UDP host;branch=a",
    "SIP/3.0/UDP host;branch=a",
    "SIP/2.0/UDP host:5060 ;branch=a",
    'SIP/2.0/UDP host;x="quoted value"',
    "SIP/2.0/UDP bad_host!;branch=a",
]


def outcome(parse, text: str) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    try:
        value = parse(text)
    except ParseError:
        return ("error", None)
    return ("ok", describe(value))


def describe(value: NameAddr | Via | URI | dict[str, str | None]) -> object:
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, Via):
        return (value.transport, value.host, value.port, value.params, value.version, str(value))
    if isinstance(value, NameAddr):
        return (value.display, value.params, describe(value.uri), str(value))
    parts = [str(value), type(value).__name__]
    for name in ("scheme", "user", "password", "host", "port", "params", "headers"):
        parts.append(getattr(value, name, None))
    return parts


COMMON_URIS = [
    "sip:5552999@127.0.0.1:5060",
    "sip:127.0.0.1:5070;lr;ftag=1234SIPpTag001",
    "sip:5552999@127.0.0.1:5080;transport=UDP",
    "sip:alice@exchange.example;user=phone",
    "sip:bob@host:65536",
    "sip:bob@host:0",
    "sip:bob@host:05060",
    "sip:bob@host;;lr",
    "sip:bob@host;x=",
    "sip:b%61b@host",
    "sip:b@host@other",
    "sip:host;x=a@b",
    "sip:user:pw@host",
    "sip:user@host?subject=x",
    "sip:user@[::1]:5060",
    "sips:user@host",
    "SIP:user@host",
    "sip:a@bad host",
    "sip:a@b>",
    "sip:@host",
    "sip:",
    "tel:+15551234",
]


@pytest.mark.parametrize("text", COMMON_URIS)
def test_uri_shortcut_agrees_with_the_full_parser(text: str) -> None:
    assert outcome(parse_uri, text) == outcome(parse_uri_fully, text)


@pytest.mark.parametrize("text", COMMON_ADDRESSES)
def test_name_addr_shortcut_agrees_with_the_full_parser(text: str) -> None:
    assert outcome(parse_name_addr, text) == outcome(parse_name_addr_fully, text.strip(" \t"))


@pytest.mark.parametrize("text", COMMON_VIAS)
def test_via_shortcut_agrees_with_the_full_parser(text: str) -> None:
    assert outcome(parse_via, text) == outcome(parse_via_fully, text)


# Pieces that are close to the common forms, so that generated values hit both the shortcut
# and its edges (ports out of range, repeated or empty parameters, stray characters).
ADDRESS_PIECES = st.sampled_from(
    [
        '"',
        '"Ada"',
        "Ada",
        " ",
        "\t",
        "<",
        ">",
        "sip:",
        "sips:",
        "alice",
        "@",
        "host",
        "127.0.0.1",
        ":",
        "5060",
        "0",
        "99999",
        ";",
        "tag=",
        "x",
        "lr",
        "=",
        "%41",
        "?",
        "&",
        ",",
        "[::1]",
        "\\",
    ]
)
VIA_PIECES = st.sampled_from(
    [
        "SIP/2.0/",
        "UDP",
        "tcp",
        " ",
        "host",
        "127.0.0.1",
        ":",
        "5060",
        "0",
        "70000",
        ";",
        "branch=",
        "z9hG4bK1",
        "rport",
        "=",
        "12",
        "received=",
        "ttl=",
        "x",
        '"',
        "[::1]",
    ]
)


@SETTINGS
@given(st.lists(ADDRESS_PIECES, max_size=14).map("".join))
def test_generated_addresses_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_name_addr, text) == outcome(parse_name_addr_fully, text.strip(" \t"))


@SETTINGS
@given(st.lists(VIA_PIECES, max_size=12).map("".join))
def test_generated_vias_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_via, text) == outcome(parse_via_fully, text)


WORD = st.sampled_from(["Ada", "sipp", "a b", "x!", "", "é", "Op%20"])
PARAM = st.sampled_from(
    ["", ";lr", ";tag=1", ";tag=", ";transport=TCP", ";a=b;a=c", ";;x", ";q=0.5"]
)


@st.composite
def shaped_addresses(draw: st.DrawFn) -> str:
    """`display <sip:user@host:port;uri-params>;params`, each part sometimes odd."""
    display = draw(st.sampled_from(["", "{w} ", '"{w}" ', '"{w}"', "{w}\t"])).format(w=draw(WORD))
    user = draw(st.sampled_from(["", "alice@", "5551001@", "a:b@", "a b@", "%41@"]))
    host = draw(st.sampled_from(["host", "127.0.0.1", "ex-1.example", "h_1", "[::1]", "b@d"]))
    port = draw(st.sampled_from(["", ":5060", ":0", ":65535", ":65536", ":x"]))
    return f"{display}<sip:{user}{host}{port}{draw(PARAM)}>{draw(PARAM)}"


@st.composite
def shaped_vias(draw: st.DrawFn) -> str:
    transport = draw(st.sampled_from(["UDP", "tcp", "TLS", "U-1"]))
    host = draw(st.sampled_from(["host", "127.0.0.1", "h_1", "[::1]", "b d"]))
    port = draw(st.sampled_from(["", ":5060", ":0", ":65536"]))
    params = draw(
        st.sampled_from(
            [
                "",
                ";branch=z9hG4bK1",
                ";rport",
                ";rport=1;received=h",
                ";ttl=x",
                ";branch=a;branch=b",
                ';x="q"',
            ]
        )
    )
    return f"SIP/2.0/{transport} {host}{port}{params}"


@SETTINGS
@given(shaped_addresses())
def test_shaped_addresses_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_name_addr, text) == outcome(parse_name_addr_fully, text.strip(" \t"))


@SETTINGS
@given(shaped_addresses().map(lambda text: text[text.index("<") + 1 : text.rindex(">")]))
def test_shaped_uris_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_uri, text) == outcome(parse_uri_fully, text)


@SETTINGS
@given(st.lists(ADDRESS_PIECES, max_size=10).map("".join))
def test_generated_uris_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_uri, text) == outcome(parse_uri_fully, text)


@SETTINGS
@given(shaped_vias())
def test_shaped_vias_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_via, text) == outcome(parse_via_fully, text)


PARAM_PIECES = st.sampled_from(
    [
        ";",
        "=",
        "tag",
        "TAG",
        "branch",
        "z9hG4bK1",
        "lr",
        "received",
        "127.0.0.1",
        "[::1]",
        ":",
        " ",
        "\t",
        '"',
        '"q v"',
        "<",
        ">",
        "\\",
        "x",
        "é",
        ",",
        "%41",
        "",
        "a=b",
    ]
)


@pytest.mark.parametrize(
    "text",
    [
        ";tag=1",
        ";lr",
        ";a=b;A=c",
        ";x;;y",
        ";x=",
        ";=x",
        ' ;a="b c"',
        ";received=[::1]:5060",
        ";a=b ",
        ";a= b",
        "a=b",
        ";é=1",
        ";a=<b>",
        ";Branch=Z9HG4BK1;rport",
    ],
)
def test_params_shortcut_agrees_with_the_full_parser(text: str) -> None:
    assert outcome(parse_params, text) == outcome(parse_params_fully, text)


@SETTINGS
@given(st.lists(PARAM_PIECES, max_size=10).map("".join))
def test_generated_params_parse_the_same_both_ways(text: str) -> None:
    assert outcome(parse_params, text) == outcome(parse_params_fully, text)
