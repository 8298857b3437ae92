"""INVITE and non-INVITE client transactions (RFC 3261 §17.1, RFC 6026 §8.4), on a fake clock."""

from __future__ import annotations

import pytest

from softswitch.sip import Request, make_response, parse_message
from softswitch.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ResponseReceived,
    Send,
    StrayMessage,
    Terminated,
    Timeout,
    TimerConfig,
    TransportFailed,
    build_ack,
    client_invite,
    client_key,
    client_non_invite,
)

TIMERS = TimerConfig()
PEER = ("udp", "192.0.2.4", 5060)


def make_request(method: str = "INVITE", branch: str = "z9hG4bKnashds8") -> Request:
    text = (
        f"{method} sip:bob@biloxi.example SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP pc33.atlanta.example:5060;branch={branch}\r\n"
        "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKfirsthop\r\n"
        "Max-Forwards: 69\r\n"
        "Route: <sip:p1.biloxi.example;lr>\r\n"
        "Route: <sip:p2.biloxi.example;lr>\r\n"
        "To: Bob <sip:bob@biloxi.example>\r\n"
        "From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example\r\n"
        f"CSeq: 314159 {method}\r\n"
        "Contact: <sip:alice@pc33.atlanta.example>\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def invite_tx(reliable: bool = False, now: float = 0.0) -> tuple[ClientInviteTransaction, list]:
    request = make_request()
    tx = ClientInviteTransaction(
        request, PEER, client_key(request), TIMERS.for_transport(reliable), reliable
    )
    return tx, tx.start(now)


def non_invite_tx(
    reliable: bool = False, now: float = 0.0, method: str = "BYE"
) -> tuple[ClientNonInviteTransaction, list]:
    request = make_request(method)
    tx = ClientNonInviteTransaction(
        request, PEER, client_key(request), TIMERS.for_transport(reliable), reliable
    )
    return tx, tx.start(now)


def respond(tx, status: int, to_tag: str | None = "a6c85cf"):
    """The response as it arrives: serialized by the peer, parsed here."""
    response = make_response(tx.request, status, to_tag=to_tag)
    return parse_message(response.to_bytes())


def kinds(outputs: list) -> list[type]:
    return [type(output) for output in outputs]


def run_timers(tx, until: float) -> list[tuple[float, list]]:
    """Fire the transaction's timers in order up to `until`: [(time, outputs), ...]."""
    fired = []
    while (deadline := tx.next_deadline()) is not None and deadline <= until:
        fired.append((deadline, tx.handle_timer(deadline)))
    return fired


# -- INVITE client transaction -----------------------------------------------------------------


def test_invite_is_sent_once_serialized_and_timer_a_doubles_until_timer_b() -> None:
    tx, out = invite_tx()
    assert kinds(out) == [Send]
    assert out[0].peer == PEER and out[0].tx is tx
    assert out[0].data == tx.request.to_bytes()
    fired = run_timers(tx, 100.0)
    times = [time for time, _ in fired]
    # §17.1.1.2: A at T1, then 2*T1, 4*T1 ...; B at 64*T1 = 32 s: seven INVITEs in all.
    assert times == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 32.0]
    for _, outputs in fired[:-1]:
        assert kinds(outputs) == [Send]
        assert outputs[0].data is out[0].data  # retransmitted, not serialized again
    timeout, terminated = fired[-1][1]
    assert isinstance(timeout, Timeout) and timeout.timer == "B" and timeout.tx is tx
    assert isinstance(terminated, Terminated)
    assert tx.state is client_invite.State.TERMINATED and tx.next_deadline() is None


def test_invite_over_reliable_transport_has_no_timer_a() -> None:
    tx, out = invite_tx(reliable=True)
    assert kinds(out) == [Send]
    assert tx.next_deadline() == 32.0
    assert kinds(tx.handle_timer(31.9)) == []
    assert kinds(tx.handle_timer(32.0)) == [Timeout, Terminated]


def test_provisional_moves_to_proceeding_and_stops_retransmissions() -> None:
    tx, _ = invite_tx()
    tx.handle_timer(0.5)
    out = tx.receive_response(respond(tx, 100, None), 0.7)
    assert kinds(out) == [ResponseReceived]
    assert tx.state is client_invite.State.PROCEEDING
    # §17.1.1.2: no retransmissions in Proceeding, and Timer B only runs in Calling.
    assert tx.next_deadline() is None
    out = tx.receive_response(respond(tx, 180), 3.0)
    assert kinds(out) == [ResponseReceived] and out[0].response.status == 180


@pytest.mark.parametrize("first", [None, 180])
def test_non_2xx_final_is_acknowledged_and_completed_absorbs_retransmissions(first) -> None:
    tx, _ = invite_tx()
    if first:
        tx.receive_response(respond(tx, first), 0.1)
    response = respond(tx, 486)
    out = tx.receive_response(response, 1.0)
    assert kinds(out) == [ResponseReceived, Send]
    assert out[0].response is response
    ack = parse_message(out[1].data)
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert tx.state is client_invite.State.COMPLETED
    assert tx.next_deadline() == 1.0 + 32.0  # Timer D, 32 s on UDP
    # §17.1.1.2: a retransmitted final response: the same ACK again, nothing to the TU.
    again = tx.receive_response(respond(tx, 486), 2.0)
    assert kinds(again) == [Send] and again[0].data is out[1].data
    assert kinds(tx.handle_timer(33.0)) == [Terminated]


def test_ack_for_non_2xx_follows_17_1_1_3() -> None:
    invite = make_request()
    response = make_response(invite, 404, to_tag="99sa0xk")
    ack = parse_message(build_ack(invite, response).to_bytes())
    assert isinstance(ack, Request)
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert ack.call_id == invite.call_id
    assert ack.header("from") == invite.header("from")
    assert ack.to_addr.tag == "99sa0xk"
    assert (ack.cseq.number, ack.cseq.method) == (314159, "ACK")
    assert [str(v) for v in ack.vias] == [str(invite.top_via)]  # only the top Via
    assert ack.header_values("route") == invite.header_values("route")
    assert ack.max_forwards == 69
    assert ack.body == b"" and ack.header("contact") is None


def test_non_2xx_over_reliable_transport_terminates_at_once() -> None:
    tx, _ = invite_tx(reliable=True)
    out = tx.receive_response(respond(tx, 503), 1.0)
    # §17.1.1.2: the ACK is sent even on reliable transports; Timer D is zero there.
    assert kinds(out) == [ResponseReceived, Send, Terminated]
    assert tx.terminated and tx.next_deadline() is None


@pytest.mark.parametrize("first", [None, 183])
def test_2xx_enters_accepted_and_later_2xx_are_passed_up(first) -> None:
    tx, _ = invite_tx()
    if first:
        tx.receive_response(respond(tx, first), 0.2)
    out = tx.receive_response(respond(tx, 200, "fork1"), 2.0)
    # RFC 6026 §8.4: the 2xx goes up, no ACK from the transaction, Accepted with Timer M.
    assert kinds(out) == [ResponseReceived]
    assert tx.state is client_invite.State.ACCEPTED
    assert tx.next_deadline() == 2.0 + 32.0
    # the INVITE is never sent again: its bytes go, and the request is kept packed
    assert tx.data == b"" and tx.request._field_list is None
    retransmitted = tx.receive_response(respond(tx, 200, "fork1"), 2.5)
    other_fork = tx.receive_response(respond(tx, 200, "fork2"), 3.0)
    assert kinds(retransmitted) == kinds(other_fork) == [ResponseReceived]
    assert other_fork[0].response.to_addr.tag == "fork2"
    assert kinds(tx.handle_timer(33.9)) == []
    assert kinds(tx.handle_timer(34.0)) == [Terminated]


def test_2xx_over_reliable_transport_still_waits_timer_m() -> None:
    tx, _ = invite_tx(reliable=True)
    tx.receive_response(respond(tx, 200), 1.0)
    assert tx.state is client_invite.State.ACCEPTED and tx.next_deadline() == 33.0


@pytest.mark.parametrize(
    ("setup", "status"),
    [((486,), 180), ((486,), 200), ((200,), 180), ((200,), 486)],
)
def test_responses_the_rfc_gives_no_transition_are_strays(setup, status) -> None:
    tx, _ = invite_tx()
    for earlier in setup:
        tx.receive_response(respond(tx, earlier), 1.0)
    state = tx.state
    with pytest.raises(StrayMessage):
        tx.receive_response(respond(tx, status), 2.0)
    assert tx.state is state


@pytest.mark.parametrize("setup", [(), (180,), (486,)])
def test_transport_error_informs_the_tu_and_terminates(setup) -> None:
    tx, _ = invite_tx()
    for status in setup:
        tx.receive_response(respond(tx, status), 0.1)
    assert kinds(tx.transport_error(0.2)) == [TransportFailed, Terminated]
    with pytest.raises(StrayMessage):
        tx.receive_response(respond(tx, 200), 0.3)


def test_invite_table_rows_target_states_of_the_same_machine() -> None:
    states = set(client_invite.State)
    targets = {target for target, _ in client_invite.TRANSITIONS.values()}
    assert targets == states  # every state is reachable, nothing outside the machine


# -- non-INVITE client transaction --------------------------------------------------------------


def test_non_invite_timer_e_doubles_up_to_t2_until_timer_f() -> None:
    tx, out = non_invite_tx()
    assert kinds(out) == [Send]
    fired = run_timers(tx, 100.0)
    times = [time for time, _ in fired]
    # §17.1.2.2: 500 ms, 1 s, 2 s, 4 s, 4 s, ... then F at 64*T1.
    assert times == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5, 32.0]
    assert all(kinds(outputs) == [Send] for _, outputs in fired[:-1])
    assert all(outputs[0].data is out[0].data for _, outputs in fired[:-1])
    timeout, terminated = fired[-1][1]
    assert isinstance(timeout, Timeout) and timeout.timer == "F"
    assert isinstance(terminated, Terminated)


def test_non_invite_provisional_keeps_retransmitting_at_t2() -> None:
    tx, _ = non_invite_tx()
    tx.handle_timer(0.5)  # next E at 1.5
    out = tx.receive_response(respond(tx, 100, None), 1.0)
    assert kinds(out) == [ResponseReceived]
    assert tx.state is client_non_invite.State.PROCEEDING
    assert tx.next_deadline() == 1.5  # the running Timer E is kept
    times = [time for time, _ in run_timers(tx, 14.0)]
    assert times == [1.5, 5.5, 9.5, 13.5]  # then every T2
    assert kinds(tx.receive_response(respond(tx, 180), 14.0)) == [ResponseReceived]
    assert [time for time, _ in run_timers(tx, 40.0)][-1] == 32.0  # Timer F


@pytest.mark.parametrize("provisional", [False, True])
@pytest.mark.parametrize("status", [200, 404])
def test_non_invite_final_response_completes_and_absorbs_retransmissions(
    status, provisional
) -> None:
    tx, _ = non_invite_tx()
    if provisional:
        tx.receive_response(respond(tx, 100, None), 0.1)
    out = tx.receive_response(respond(tx, status), 0.8)
    assert kinds(out) == [ResponseReceived]
    assert tx.state is client_non_invite.State.COMPLETED
    assert tx.next_deadline() == 0.8 + 5.0  # Timer K = T4; E and F stopped
    assert tx.data == b"" and tx.request._field_list is None  # never sent again
    # §17.1.2.2: Completed buffers further response retransmissions.
    assert tx.receive_response(respond(tx, status), 1.0) == []
    assert tx.receive_response(respond(tx, 100, None), 1.1) == []
    assert kinds(tx.handle_timer(5.8)) == [Terminated]


def test_non_invite_over_reliable_transport() -> None:
    tx, _ = non_invite_tx(reliable=True)
    assert tx.next_deadline() == 32.0  # no Timer E
    tx.receive_response(respond(tx, 100, None), 0.1)
    assert tx.next_deadline() == 32.0
    assert kinds(tx.receive_response(respond(tx, 200), 0.2)) == [ResponseReceived, Terminated]


def test_non_invite_transport_error() -> None:
    tx, _ = non_invite_tx()
    assert kinds(tx.transport_error(0.1)) == [TransportFailed, Terminated]
    done, _ = non_invite_tx()
    done.receive_response(respond(done, 200), 0.1)
    with pytest.raises(StrayMessage):
        done.transport_error(0.2)  # nothing is sent in Completed


@pytest.mark.parametrize("method", ["INVITE", "ACK"])
def test_non_invite_transaction_refuses_invite_and_ack(method) -> None:
    request = make_request(method)
    with pytest.raises(ValueError):
        ClientNonInviteTransaction(request, PEER, ("x", method), TIMERS.unreliable)


def test_handle_timer_before_the_deadline_does_nothing() -> None:
    tx, _ = non_invite_tx()
    assert tx.handle_timer(0.49) == []
    assert tx.next_deadline() == 0.5


def test_non_invite_table_rows_target_states_of_the_same_machine() -> None:
    states = set(client_non_invite.State)
    targets = {target for target, _ in client_non_invite.TRANSITIONS.values()}
    assert targets == states
