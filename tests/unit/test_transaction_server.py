"""INVITE and non-INVITE server transactions (RFC 3261 §17.2, RFC 6026 §8.5-8.8), fake clock."""

from __future__ import annotations

import pytest

from softswitch.sip import Request, make_response, parse_message
from softswitch.transaction import (
    AckReceived,
    InvalidTransition,
    RequestReceived,
    Send,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    StrayMessage,
    Terminated,
    Timeout,
    TimerConfig,
    TransportFailed,
    server_invite,
    server_key,
    server_non_invite,
)

TIMERS = TimerConfig()
PEER = ("udp", "192.0.2.1", 5060)
TAG = "a6c85cf"


def make_request(method: str = "INVITE", to_tag: str | None = None) -> Request:
    to = "Bob <sip:bob@biloxi.example>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{method} sip:bob@biloxi.example SIP/2.0\r\n"
        "Via: SIP/2.0/UDP pc33.atlanta.example;branch=z9hG4bK776asdhds\r\n"
        "Max-Forwards: 70\r\n"
        f"To: {to}\r\n"
        "From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example\r\n"
        f"CSeq: 314159 {method}\r\n"
        "Timestamp: 54\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def invite_tx(reliable: bool = False) -> ServerInviteTransaction:
    request = make_request()
    tx = ServerInviteTransaction(
        request, PEER, server_key(request), TIMERS.for_transport(reliable), reliable
    )
    out = tx.start(0.0)
    assert len(out) == 1 and isinstance(out[0], RequestReceived)
    assert out[0].tx is tx and out[0].request is request
    return tx


def non_invite_tx(reliable: bool = False, method: str = "OPTIONS") -> ServerNonInviteTransaction:
    request = make_request(method)
    tx = ServerNonInviteTransaction(
        request, PEER, server_key(request), TIMERS.for_transport(reliable), reliable
    )
    assert [type(o) for o in tx.start(0.0)] == [RequestReceived]
    return tx


def answer(tx, status: int, now: float, data: bytes | None = None) -> list:
    return tx.send_response(make_response(tx.request, status, to_tag=TAG), now, data)


def ack(to_tag: str = TAG) -> Request:
    return make_request("ACK", to_tag=to_tag)


def kinds(outputs: list) -> list[type]:
    return [type(output) for output in outputs]


def run_timers(tx, until: float) -> list[tuple[float, list]]:
    fired = []
    while (deadline := tx.next_deadline()) is not None and deadline <= until:
        fired.append((deadline, tx.handle_timer(deadline)))
    return fired


# -- INVITE server transaction ------------------------------------------------------------------


def test_retransmitted_invite_before_any_response_gets_100_trying() -> None:
    tx = invite_tx()
    assert tx.state is server_invite.State.PROCEEDING and tx.next_deadline() is None
    out = tx.receive_request(make_request(), 0.5)
    assert kinds(out) == [Send]
    trying = parse_message(out[0].data)
    assert trying.status == 100  # type: ignore[union-attr]
    assert trying.to_addr.tag is None  # §17.2.1: no To tag on the 100
    assert trying.header("timestamp") == "54"  # §8.2.6.1


def test_retransmitted_invite_in_proceeding_gets_the_last_provisional() -> None:
    tx = invite_tx()
    assert kinds(answer(tx, 100, 0.0)) == [Send]
    ringing = answer(tx, 180, 0.1)
    out = tx.receive_request(make_request(), 0.5)
    assert kinds(out) == [Send] and out[0].data is ringing[0].data
    assert tx.state is server_invite.State.PROCEEDING


def test_non_2xx_final_is_retransmitted_on_timer_g_until_timer_h() -> None:
    tx = invite_tx()
    sent = answer(tx, 486, 0.0)
    assert kinds(sent) == [Send]
    assert tx.state is server_invite.State.COMPLETED
    fired = run_timers(tx, 100.0)
    times = [time for time, _ in fired]
    # §17.2.1: G at T1, then MIN(2*G, T2); H at 64*T1 ends it and tells the TU.
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5, 32.0]
    for _, outputs in fired[:-1]:
        assert kinds(outputs) == [Send] and outputs[0].data is sent[0].data
    timeout, terminated = fired[-1][1]
    assert isinstance(timeout, Timeout) and timeout.timer == "H"
    assert isinstance(terminated, Terminated)


def test_completed_answers_retransmissions_then_ack_confirms_and_timer_i_ends() -> None:
    tx = invite_tx()
    sent = answer(tx, 603, 0.0)
    tx.handle_timer(0.5)
    again = tx.receive_request(make_request(), 0.7)
    assert kinds(again) == [Send] and again[0].data is sent[0].data
    # §17.2.1: the ACK stops Timer G; Confirmed waits Timer I (T4) absorbing ACKs.
    assert tx.receive_request(ack(), 1.0) == []
    assert tx.state is server_invite.State.CONFIRMED
    assert tx.next_deadline() == 1.0 + 5.0
    # the final response is not sent again: its bytes go, the INVITE is packed
    assert tx.data == b"" and tx.request._field_list is None
    assert tx.receive_request(ack(), 1.2) == []
    assert tx.receive_request(make_request(), 1.3) == []
    assert kinds(tx.handle_timer(6.0)) == [Terminated]


def test_non_2xx_over_reliable_transport() -> None:
    tx = invite_tx(reliable=True)
    answer(tx, 486, 0.0)
    assert tx.next_deadline() == 32.0  # Timer H only, no Timer G
    # Timer I is zero on reliable transports: the ACK ends the transaction.
    assert kinds(tx.receive_request(ack(), 0.1)) == [Terminated]


def test_no_ack_over_reliable_transport_times_out_with_h() -> None:
    tx = invite_tx(reliable=True)
    answer(tx, 486, 0.0)
    assert kinds(tx.handle_timer(32.0)) == [Timeout, Terminated]


@pytest.mark.parametrize("reliable", [False, True])
def test_2xx_enters_accepted_absorbing_invites_and_passing_acks_up(reliable) -> None:
    tx = invite_tx(reliable)
    answer(tx, 180, 0.0)
    ok = answer(tx, 200, 1.0)
    assert kinds(ok) == [Send]
    # RFC 6026 §8.5, §8.7: Accepted, Timer L = 64*T1 on every transport; sent once.
    assert tx.state is server_invite.State.ACCEPTED
    assert tx.next_deadline() == 33.0
    # nothing is sent again unless the TU sends it: the 2xx's bytes go, the INVITE is packed
    assert tx.data == b"" and tx.request._field_list is None
    assert tx.receive_request(make_request(), 1.5) == []
    out = tx.receive_request(ack(), 2.0)
    assert kinds(out) == [AckReceived] and out[0].tx is tx
    again = answer(tx, 200, 2.5)  # the TU's own retransmission, or another fork's 2xx
    assert kinds(again) == [Send] and again[0].data == ok[0].data
    assert kinds(tx.handle_timer(33.0)) == [Terminated]


def test_transport_errors_are_reported_and_keep_the_state() -> None:
    tx = invite_tx()
    # RFC 6026 §8.8: inform the TU, remain in the current state.
    assert kinds(tx.transport_error(0.1)) == [TransportFailed]
    assert tx.state is server_invite.State.PROCEEDING
    answer(tx, 500, 0.2)
    assert kinds(tx.transport_error(0.3)) == [TransportFailed]
    assert tx.state is server_invite.State.COMPLETED
    accepted = invite_tx()
    answer(accepted, 200, 0.0)
    assert kinds(accepted.transport_error(0.1)) == [TransportFailed]
    assert accepted.state is server_invite.State.ACCEPTED


def test_ack_before_a_final_response_is_a_stray() -> None:
    tx = invite_tx()
    with pytest.raises(StrayMessage):
        tx.receive_request(ack(), 0.1)
    assert tx.state is server_invite.State.PROCEEDING


@pytest.mark.parametrize(
    ("first", "second"), [(486, 180), (486, 200), (486, 486), (200, 180), (200, 486)]
)
def test_tu_responses_the_state_does_not_allow_are_our_bug(first, second) -> None:
    tx = invite_tx()
    answer(tx, first, 0.0)
    with pytest.raises(InvalidTransition):
        answer(tx, second, 0.1)


def test_caller_serialized_response_is_sent_as_given() -> None:
    tx = invite_tx()
    response = make_response(tx.request, 486, to_tag=TAG)
    wire = response.to_bytes()
    out = tx.send_response(response, 0.0, wire)
    assert out[0].data is wire and tx.data is wire


def test_invite_server_transaction_refuses_other_methods() -> None:
    request = make_request("OPTIONS")
    with pytest.raises(ValueError):
        ServerInviteTransaction(request, PEER, server_key(request), TIMERS.unreliable)


def test_invite_server_rows_target_states_of_the_same_machine() -> None:
    targets = {target for target, _ in server_invite.TRANSITIONS.values()}
    assert targets == set(server_invite.State)


# -- non-INVITE server transaction --------------------------------------------------------------


def test_trying_discards_retransmissions() -> None:
    tx = non_invite_tx()
    assert tx.state is server_non_invite.State.TRYING
    assert tx.receive_request(make_request("OPTIONS"), 0.5) == []
    assert tx.next_deadline() is None


def test_proceeding_answers_retransmissions_with_the_last_provisional() -> None:
    tx = non_invite_tx()
    first = answer(tx, 100, 0.1)
    assert kinds(first) == [Send] and tx.state is server_non_invite.State.PROCEEDING
    out = tx.receive_request(make_request("OPTIONS"), 0.5)
    assert kinds(out) == [Send] and out[0].data is first[0].data


@pytest.mark.parametrize("provisional", [False, True])
@pytest.mark.parametrize("status", [200, 404])
def test_completed_answers_with_the_final_response_until_timer_j(status, provisional) -> None:
    tx = non_invite_tx()
    if provisional:
        answer(tx, 100, 0.0)
    final = answer(tx, status, 0.2)
    assert kinds(final) == [Send] and tx.state is server_non_invite.State.COMPLETED
    assert tx.next_deadline() == 0.2 + 32.0  # Timer J = 64*T1
    out = tx.receive_request(make_request("OPTIONS"), 1.0)
    assert kinds(out) == [Send] and out[0].data is final[0].data
    # §17.2.2: other final responses from the TU are discarded.
    assert answer(tx, 500, 1.5) == []
    assert tx.data is final[0].data
    assert kinds(tx.handle_timer(32.2)) == [Terminated]


def test_completed_lets_go_of_what_was_parsed_from_the_request() -> None:
    tx = non_invite_tx(method="REGISTER")
    parsed = (tx.request.from_addr, tx.request.top_via, tx.request.request_uri)
    answer(tx, 100, 0.0)
    assert tx.request.from_addr is parsed[0]  # still in use while the TU works on it
    answer(tx, 200, 0.1)
    # kept for 32 s only to answer retransmissions: read again if ever asked for
    assert tx.request._field_list is None  # packed
    assert tx.request.from_addr is not parsed[0]
    assert str(tx.request.from_addr) == str(parsed[0])
    assert tx.data  # the final response, sent again to each retransmission


def test_non_invite_over_reliable_transport_ends_with_the_final_response() -> None:
    tx = non_invite_tx(reliable=True)
    assert kinds(answer(tx, 200, 0.0)) == [Send, Terminated]


def test_non_invite_provisional_after_final_is_our_bug() -> None:
    tx = non_invite_tx()
    answer(tx, 200, 0.0)
    with pytest.raises(InvalidTransition):
        answer(tx, 100, 0.1)


def test_non_invite_transport_errors() -> None:
    tx = non_invite_tx()
    with pytest.raises(StrayMessage):
        tx.transport_error(0.0)  # nothing has been sent in Trying
    answer(tx, 200, 0.1)
    assert kinds(tx.transport_error(0.2)) == [TransportFailed]
    assert tx.state is server_non_invite.State.COMPLETED


@pytest.mark.parametrize("method", ["INVITE", "ACK"])
def test_non_invite_server_transaction_refuses_invite_and_ack(method) -> None:
    request = make_request(method)
    with pytest.raises(ValueError):
        ServerNonInviteTransaction(request, PEER, server_key(request), TIMERS.unreliable)


def test_non_invite_server_rows_target_states_of_the_same_machine() -> None:
    targets = {target for target, _ in server_non_invite.TRANSITIONS.values()}
    assert targets == set(server_non_invite.State)
