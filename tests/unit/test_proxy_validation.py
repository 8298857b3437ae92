"""Request validation before proxying (§16.3): Max-Forwards, loops against spirals,
Proxy-Require."""

from __future__ import annotations

from softswitch.proxy import LocalAddress
from softswitch.proxy.local import loop_hash
from softswitch.proxy.validation import validate
from softswitch.sip import Request, parse_message

LOCAL = LocalAddress("192.0.2.10", 5060, ("127.0.0.1",))


def invite(extra: str = "", uri: str = "sip:5551002@192.0.2.10", vias: str = "") -> Request:
    message = parse_message(
        (
            f"INVITE {uri} SIP/2.0\r\n{vias}"
            "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-phone\r\n"
            "From: <sip:5551001@192.0.2.10>;tag=a\r\nTo: <sip:5551002@192.0.2.10>\r\n"
            f"Call-ID: v1\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def test_forwardable_request_passes() -> None:
    assert validate(invite("Max-Forwards: 70\r\n"), LOCAL, "t") is None


def test_max_forwards_zero_is_483() -> None:
    response = validate(invite("Max-Forwards: 0\r\n"), LOCAL, "t")
    assert response is not None and response.status == 483


def test_proxy_require_is_420_with_unsupported() -> None:
    response = validate(invite("Proxy-Require: foo, bar\r\n"), LOCAL, "t")
    assert response is not None and response.status == 420
    assert response.header("unsupported") == "foo, bar"


def test_a_request_coming_back_unchanged_is_a_loop() -> None:
    original = invite()
    ours = f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc.{loop_hash(original)}\r\n"
    returned = invite(vias=ours)
    response = validate(returned, LOCAL, "t")
    assert response is not None and response.status == 482


def test_a_retargeted_request_through_us_again_is_a_spiral() -> None:
    original = invite()
    ours = f"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc.{loop_hash(original)}\r\n"
    spiral = invite(uri="sip:5551003@192.0.2.10", vias=ours)
    assert validate(spiral, LOCAL, "t") is None


def test_local_address_recognises_itself() -> None:
    from softswitch.sip import parse_uri

    assert LOCAL.is_ours(parse_uri("sip:192.0.2.10;lr"))
    assert LOCAL.is_ours(parse_uri("sip:127.0.0.1:5060;transport=tcp;lr"))
    assert not LOCAL.is_ours(parse_uri("sip:192.0.2.10:5080;lr"))
    assert not LOCAL.is_ours(parse_uri("sip:192.0.2.11;lr"))
