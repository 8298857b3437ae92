"""Transaction keys (RFC 3261 §17.1.3, §17.2.3, §9.2), CANCEL building, branches, timer values."""

from __future__ import annotations

import pytest

from softswitch.sip import Request, make_response, parse_message
from softswitch.transaction import (
    MAGIC_COOKIE,
    TimerConfig,
    branch,
    build_cancel,
    cancel_target_key,
    client_key,
    is_rfc3261_branch,
    legacy_ack_key,
    response_key,
    server_key,
)


def make_request(
    method: str = "INVITE",
    via: str = "SIP/2.0/UDP pc33.atlanta.example:5060;branch=z9hG4bK776asdhds",
    uri: str = "sip:bob@biloxi.example",
    to_tag: str | None = None,
    cseq: int = 314159,
    cseq_method: str | None = None,
) -> Request:
    to = "Bob <sip:bob@biloxi.example>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{method} {uri} SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Via: SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKupstream\r\n"
        "Max-Forwards: 70\r\n"
        "Route: <sip:p1.biloxi.example;lr>\r\n"
        f"To: {to}\r\n"
        "From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example\r\n"
        f"CSeq: {cseq} {cseq_method or method}\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


LEGACY_VIA = "SIP/2.0/UDP old.atlanta.example:5060"


# -- server transactions, RFC 3261 clients --------------------------------------------------------


def test_retransmission_and_ack_share_the_invite_key() -> None:
    invite = server_key(make_request())
    assert server_key(make_request()) == invite
    assert server_key(make_request("ACK", to_tag="x")) == invite  # ACK counts as INVITE
    assert invite == ("z9hg4bk776asdhds", "pc33.atlanta.example", 5060, "INVITE")


def test_cancel_has_its_own_transaction_and_names_the_invite() -> None:
    invite = make_request()
    cancel = make_request("CANCEL")
    assert server_key(cancel) != server_key(invite)
    assert cancel_target_key(cancel) == server_key(invite)


@pytest.mark.parametrize(
    ("via", "same"),
    [
        ("SIP/2.0/UDP PC33.Atlanta.Example:5060;branch=z9hG4bK776asdhds", True),  # host case
        ("SIP/2.0/UDP pc33.atlanta.example:5060;branch=Z9HG4BK776ASDHDS", True),  # token case
        ("SIP/2.0/UDP pc33.atlanta.example:5060;branch=z9hG4bK776asdhds;received=x", True),
        ("SIP/2.0/UDP pc33.atlanta.example:5070;branch=z9hG4bK776asdhds", False),  # port
        ("SIP/2.0/UDP evil.example:5060;branch=z9hG4bK776asdhds", False),  # sent-by
        ("SIP/2.0/UDP pc33.atlanta.example:5060;branch=z9hG4bK776asdhdt", False),  # branch
    ],
)
def test_server_key_is_branch_sent_by_and_method(via, same) -> None:
    assert (server_key(make_request(via=via)) == server_key(make_request())) is same


def test_methods_keep_transactions_apart() -> None:
    assert server_key(make_request("BYE")) != server_key(make_request("OPTIONS"))


# -- server transactions, RFC 2543 clients (§17.2.3 fallback) ------------------------------------


def test_legacy_invite_retransmission_matches() -> None:
    first = server_key(make_request(via=LEGACY_VIA))
    assert first[0] == ""
    assert server_key(make_request(via=LEGACY_VIA)) == first


@pytest.mark.parametrize(
    "changes",
    [
        {"uri": "sip:carol@biloxi.example"},
        {"to_tag": "abc"},
        {"cseq": 314160},
        {"via": "SIP/2.0/UDP old.atlanta.example:5061"},
        {"via": "SIP/2.0/TCP old.atlanta.example:5060"},
    ],
)
def test_legacy_invite_differing_in_any_field_is_a_new_transaction(changes) -> None:
    original = server_key(make_request(via=LEGACY_VIA))
    assert server_key(make_request(**{"via": LEGACY_VIA, **changes})) != original


def test_legacy_request_uri_compared_by_uri_rules() -> None:
    original = server_key(make_request(via=LEGACY_VIA))
    same = server_key(make_request(via=LEGACY_VIA, uri="sip:bob@BILOXI.example"))
    assert same == original  # §19.1.4: host names compare without case


def test_legacy_ack_matches_by_the_to_tag_of_the_response() -> None:
    invite = make_request(via=LEGACY_VIA)
    response = make_response(invite, 486, to_tag="99sa0xk")
    expected = legacy_ack_key(invite, response.to_addr.tag)
    assert expected is not None
    assert server_key(make_request("ACK", via=LEGACY_VIA, to_tag="99sa0xk")) == expected
    assert server_key(make_request("ACK", via=LEGACY_VIA, to_tag="other")) != expected
    assert server_key(make_request("ACK", via=LEGACY_VIA)) != server_key(invite)


def test_legacy_ack_key_is_only_for_legacy_invites() -> None:
    assert legacy_ack_key(make_request(), "tag") is None


def test_legacy_cancel_names_its_invite() -> None:
    invite = make_request(via=LEGACY_VIA)
    cancel = make_request("CANCEL", via=LEGACY_VIA)
    assert server_key(cancel) != server_key(invite)
    assert cancel_target_key(cancel) == server_key(invite)


def test_legacy_non_invite_key_includes_the_cseq_method() -> None:
    bye = server_key(make_request("BYE", via=LEGACY_VIA))
    assert bye != server_key(make_request("INFO", via=LEGACY_VIA))
    assert server_key(make_request("BYE", via=LEGACY_VIA)) == bye


# -- client transactions (§17.1.3) ----------------------------------------------------------------


def test_response_matches_by_branch_and_cseq_method() -> None:
    invite = make_request()
    cancel = build_cancel(invite)
    assert client_key(invite) != client_key(cancel)
    assert response_key(make_response(invite, 180)) == client_key(invite)
    assert response_key(make_response(cancel, 200)) == client_key(cancel)


def test_response_without_branch_matches_nothing() -> None:
    response = make_response(make_request(via=LEGACY_VIA), 200)
    assert response_key(response) is None


def test_client_transaction_needs_a_cookie_branch() -> None:
    with pytest.raises(ValueError):
        client_key(make_request(via=LEGACY_VIA))


# -- CANCEL (§9.1) -------------------------------------------------------------------------------


def test_build_cancel_copies_what_9_1_requires() -> None:
    invite = make_request()
    cancel = parse_message(build_cancel(invite).to_bytes())
    assert isinstance(cancel, Request)
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert [str(v) for v in cancel.vias] == [str(invite.top_via)]
    assert cancel.top_via.branch == invite.top_via.branch
    assert cancel.header("to") == invite.header("to")
    assert cancel.header("from") == invite.header("from")
    assert cancel.call_id == invite.call_id
    assert (cancel.cseq.number, cancel.cseq.method) == (314159, "CANCEL")
    assert cancel.header_values("route") == invite.header_values("route")
    assert cancel.max_forwards == 70 and cancel.header("reason") is None


def test_build_cancel_with_reason_and_only_for_invite() -> None:
    cancel = build_cancel(make_request(), reason='SIP;cause=200;text="Call completed elsewhere"')
    assert cancel.header("reason") == 'SIP;cause=200;text="Call completed elsewhere"'
    with pytest.raises(ValueError):
        build_cancel(make_request("OPTIONS"))


# -- branches ------------------------------------------------------------------------------------


def test_branches_are_cookie_plus_random_and_unique() -> None:
    branches = [branch() for _ in range(10_000)]
    assert len(set(branches)) == len(branches)
    assert all(b.startswith(MAGIC_COOKIE) and len(b) == 23 for b in branches)
    assert all(is_rfc3261_branch(b) for b in branches[:10])
    assert not is_rfc3261_branch("776asdhds") and not is_rfc3261_branch(None)


# -- timer values (Table 4, RFC 6026) -------------------------------------------------------------


def test_default_timer_values() -> None:
    config = TimerConfig()
    assert (config.t1, config.t2, config.t4, config.timer_c) == (0.5, 4.0, 5.0, 180.0)
    udp = config.for_transport(reliable=False)
    assert (udp.a, udp.e, udp.g) == (0.5, 0.5, 0.5)
    assert (udp.b, udp.f, udp.h, udp.j, udp.l, udp.m) == (32.0,) * 6
    assert (udp.d, udp.i, udp.k) == (32.0, 5.0, 5.0)
    tcp = config.for_transport(reliable=True)
    assert (tcp.a, tcp.e, tcp.g) == (None, None, None)
    assert (tcp.d, tcp.i, tcp.j, tcp.k) == (0.0, 0.0, 0.0, 0.0)
    assert (tcp.b, tcp.f, tcp.h, tcp.l, tcp.m) == (32.0,) * 5


def test_timers_scale_with_t1() -> None:
    config = TimerConfig(t1=1.0, t2=8.0)
    assert config.unreliable.b == 64.0 and config.unreliable.l == 64.0
    assert config.unreliable.d == 32.0  # Timer D is an absolute minimum, not T1-based


@pytest.mark.parametrize(
    "values", [{"t1": 0.0}, {"t1": 5.0, "t2": 4.0}, {"t4": 0.0}, {"timer_c": 0.0}]
)
def test_bad_timer_values_are_refused(values) -> None:
    with pytest.raises(ValueError):
        TimerConfig(**values)
