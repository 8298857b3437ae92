"""The transaction table: dispatch of requests and responses, and its deadlines by the slot."""

from __future__ import annotations

import gc
import random

import pytest

from softswitch.sip import Request, make_response, parse_message
from softswitch.transaction import (
    AckReceived,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    Discarded,
    RequestReceived,
    ResponseReceived,
    Send,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    Terminated,
    Timeout,
    TransactionTable,
    TransportFailed,
    UnmatchedAck,
    UnmatchedResponse,
    branch,
    build_cancel,
)
from softswitch.transaction.table import slot_of

PEER = ("udp", "192.0.2.1", 5060)


def make_request(
    method: str = "INVITE",
    branch_id: str | None = "z9hG4bK776asdhds",
    to_tag: str | None = None,
    call_id: str = "a84b4c76e66710",
) -> Request:
    via = "SIP/2.0/UDP pc33.atlanta.example:5060" + (f";branch={branch_id}" if branch_id else "")
    to = "Bob <sip:bob@biloxi.example>" + (f";tag={to_tag}" if to_tag else "")
    text = (
        f"{method} sip:bob@biloxi.example SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        f"To: {to}\r\n"
        "From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: 314159 {method}\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


def kinds(outputs: list) -> list[type]:
    return [type(output) for output in outputs]


def only(outputs: list, kind: type):
    assert kinds(outputs) == [kind], outputs
    return outputs[0]


# -- server side ---------------------------------------------------------------------------------


def test_new_request_creates_a_server_transaction() -> None:
    table = TransactionTable()
    invite = make_request()
    event = only(table.receive_request(invite, PEER, 0.0), RequestReceived)
    assert isinstance(event.tx, ServerInviteTransaction) and event.request is invite
    assert event.tx.peer == PEER
    options = only(table.receive_request(make_request("OPTIONS"), PEER, 0.0), RequestReceived)
    assert isinstance(options.tx, ServerNonInviteTransaction)
    assert len(table) == table.server_count == 2 and table.client_count == 0
    assert table.server(event.tx.key) is event.tx


def test_retransmission_is_absorbed_with_the_response_to_resend() -> None:
    table = TransactionTable()
    tx = only(table.receive_request(make_request(), PEER, 0.0), RequestReceived).tx
    ringing = only(table.send_response(tx, make_response(tx.request, 180, to_tag="t"), 0.1), Send)
    resend = only(table.receive_request(make_request(), ("udp", "elsewhere", 1), 0.5), Send)
    assert resend.data is ringing.data and resend.peer == PEER and resend.tx is tx
    assert len(table) == 1


def test_acks_non_2xx_absorbed_2xx_passed_up_unmatched_reported() -> None:
    table = TransactionTable()
    rejected = only(table.receive_request(make_request(), PEER, 0.0), RequestReceived).tx
    table.send_response(rejected, make_response(rejected.request, 486, to_tag="t"), 0.1)
    assert table.receive_request(make_request("ACK", to_tag="t"), PEER, 0.2) == []

    accepted_invite = make_request(branch_id="z9hG4bKother")
    accepted = only(table.receive_request(accepted_invite, PEER, 0.0), RequestReceived).tx
    table.send_response(accepted, make_response(accepted_invite, 200, to_tag="u"), 0.1)
    ack = make_request("ACK", branch_id="z9hG4bKother", to_tag="u")
    event = only(table.receive_request(ack, PEER, 0.3), AckReceived)
    assert event.tx is accepted and event.request is ack

    # The usual ACK for a 2xx has a branch of its own: no transaction has it.
    fresh = make_request("ACK", branch_id="z9hG4bKnewbranch", to_tag="u")
    assert only(table.receive_request(fresh, PEER, 0.4), UnmatchedAck).request is fresh


def test_ack_in_proceeding_is_discarded_not_raised() -> None:
    table = TransactionTable()
    tx = only(table.receive_request(make_request(), PEER, 0.0), RequestReceived).tx
    event = only(table.receive_request(make_request("ACK", to_tag="t"), PEER, 0.1), Discarded)
    assert event.tx is tx and "RECV_ACK" in event.reason


def test_cancel_gets_its_own_transaction_and_finds_its_invite() -> None:
    table = TransactionTable()
    invite_tx = only(table.receive_request(make_request(), PEER, 0.0), RequestReceived).tx
    cancel = make_request("CANCEL")
    cancel_tx = only(table.receive_request(cancel, PEER, 0.1), RequestReceived).tx
    assert isinstance(cancel_tx, ServerNonInviteTransaction) and cancel_tx is not invite_tx
    assert table.cancel_target(cancel) is invite_tx
    assert table.cancel_target(make_request("CANCEL", branch_id="z9hG4bKnone")) is None


def test_legacy_invite_ack_matches_through_the_response_to_tag() -> None:
    table = TransactionTable()
    tx = only(table.receive_request(make_request(branch_id=None), PEER, 0.0), RequestReceived).tx
    assert only(table.receive_request(make_request(branch_id=None), PEER, 0.3), Send)  # 100
    table.send_response(tx, make_response(tx.request, 404, to_tag="99sa0xk"), 1.0)
    assert len(table) == 1 and table.server_count == 1
    ack = make_request("ACK", branch_id=None, to_tag="99sa0xk")
    assert table.receive_request(ack, PEER, 1.1) == []
    assert tx.state.name == "CONFIRMED"
    assert table.receive_request(ack, PEER, 1.2) == []  # retransmitted ACK absorbed
    assert kinds(table.handle_timers(6.1)) == [Terminated]
    assert len(table) == 0 and table.server_count == 0
    assert only(table.receive_request(ack, PEER, 7.0), UnmatchedAck)


def test_terminated_transactions_leave_the_table() -> None:
    table = TransactionTable()
    tx = only(
        table.receive_request(make_request("OPTIONS"), PEER, 0.0, reliable=True), RequestReceived
    ).tx
    out = table.send_response(tx, make_response(tx.request, 200, to_tag="t"), 0.1)
    assert kinds(out) == [Send, Terminated]  # Timer J is zero on reliable transports
    assert len(table) == 0 and table.next_deadline() is None
    # The same request again is a new transaction now.
    assert only(table.receive_request(make_request("OPTIONS"), PEER, 0.2), RequestReceived)


# -- client side ---------------------------------------------------------------------------------


def test_responses_go_to_their_client_transaction_or_are_unmatched() -> None:
    table = TransactionTable()
    invite = make_request(branch_id=branch())
    tx, out = table.send_request(invite, PEER, 0.0)
    assert isinstance(tx, ClientInviteTransaction) and only(out, Send).tx is tx
    event = only(
        table.receive_response(make_response(invite, 180, to_tag="t"), 0.1), ResponseReceived
    )
    assert event.tx is tx
    stray = make_response(make_request(branch_id=branch()), 200, to_tag="t")
    assert only(table.receive_response(stray, 0.2), UnmatchedResponse).response is stray


def test_cancel_runs_beside_its_invite() -> None:
    table = TransactionTable()
    invite = make_request(branch_id=branch())
    invite_tx, _ = table.send_request(invite, PEER, 0.0)
    table.receive_response(make_response(invite, 180, to_tag="t"), 0.1)
    cancel = build_cancel(invite)
    cancel_tx, out = table.send_request(cancel, PEER, 1.0)
    assert isinstance(cancel_tx, ClientNonInviteTransaction) and only(out, Send)
    assert cancel_tx.key != invite_tx.key and len(table) == 2
    ok = only(table.receive_response(make_response(cancel, 200, to_tag="t"), 1.1), ResponseReceived)
    assert ok.tx is cancel_tx
    out = table.receive_response(make_response(invite, 487, to_tag="t"), 1.2)
    assert kinds(out) == [ResponseReceived, Send] and out[0].tx is invite_tx


def test_send_request_refuses_ack_and_duplicate_branches() -> None:
    table = TransactionTable()
    with pytest.raises(ValueError):
        table.send_request(make_request("ACK", branch_id=branch()), PEER, 0.0)
    request = make_request(branch_id=branch())
    table.send_request(request, PEER, 0.0)
    with pytest.raises(ValueError):
        table.send_request(request, PEER, 0.0)


def test_stray_response_in_completed_is_discarded() -> None:
    table = TransactionTable()
    invite = make_request(branch_id=branch())
    table.send_request(invite, PEER, 0.0)
    table.receive_response(make_response(invite, 486, to_tag="t"), 0.1)
    only(table.receive_response(make_response(invite, 180, to_tag="t"), 0.2), Discarded)


def test_transport_error_reported_through_the_send() -> None:
    table = TransactionTable()
    _, out = table.send_request(make_request(branch_id=branch()), PEER, 0.0)
    failed = table.transport_error(only(out, Send).tx, 0.01)
    assert kinds(failed) == [TransportFailed, Terminated]
    assert len(table) == 0 and table.next_deadline() is None
    assert table.transport_error(failed[0].tx, 0.02) == []  # already gone


# -- timers --------------------------------------------------------------------------------------


def test_ten_thousand_transactions_only_due_timers_fire() -> None:
    table = TransactionTable()
    rng = random.Random(7)
    starts = [rng.uniform(0.0, 10.0) for _ in range(10_000)]
    by_tx = {}
    for start in starts:
        tx, _ = table.send_request(make_request("OPTIONS", branch_id=branch()), PEER, start)
        by_tx[tx] = start
    assert len(table) == 10_000
    assert table.next_deadline() == pytest.approx(min(starts) + 0.5)

    now = 5.0
    fired = table.handle_timers(now)
    due = [start for start in starts if start + 0.5 <= now]
    assert len(fired) == len(due) and all(type(o) is Send for o in fired)
    # Each due transaction was retransmitted once and rescheduled (Timer E doubles to 1 s).
    expected_next = min(
        [start + 0.5 for start in starts if start + 0.5 > now]
        + [start + 1.5 for start in due if start + 1.5 > now]
    )
    assert table.next_deadline() == pytest.approx(expected_next)
    assert table.handle_timers(now) == []  # nothing fires twice

    # Half of them get their final response: their deadlines move to Timer K.
    answered = [tx for i, tx in enumerate(by_tx) if i % 2 == 0]
    for tx in answered:
        table.receive_response(make_response(tx.request, 200, to_tag="t"), now)
    # each answered one left its Timer E entry behind; every entry is a transaction itself
    entries = [tx for slot in table._slots.values() for tx in slot]
    assert len(entries) == 10_000 + 5_000 and set(entries) == set(by_tx)

    # Everything ends: K (5 s) for the answered, F (32 s) for the rest.
    out = table.handle_timers(100.0)
    assert sum(type(o) is Terminated for o in out) == 10_000
    assert sum(type(o) is Timeout and o.timer == "F" for o in out) == 5_000
    assert len(table) == 0 and table.next_deadline() is None


def test_stale_entries_go_when_their_slot_comes_due() -> None:
    """A deadline that moves leaves its old entry behind, dropped unseen when its slot comes
    due: nothing is rebuilt, and no entry outlives the longest timer."""
    table = TransactionTable()
    txs = [
        table.send_request(make_request("OPTIONS", branch_id=branch()), PEER, 0.0)[0]
        for _ in range(3_000)
    ]
    for tx in txs[::2]:  # answered: Timer K (5 s) instead of Timer E (0.5 s)
        table.receive_response(make_response(tx.request, 200, to_tag="t"), 0.1)
    assert sorted(table._slots) == [slot_of(0.5), slot_of(5.1)]
    assert len(table._slots[slot_of(0.5)]) == 3_000  # 1,500 of them stale
    assert table.next_deadline() == 0.5

    fired = table.handle_timers(0.5)
    assert len(fired) == 1_500 and all(type(o) is Send for o in fired)  # only the unanswered
    assert slot_of(0.5) not in table._slots
    assert table.next_deadline() == 1.5  # Timer E again, 1 s on

    assert sum(type(o) is Terminated for o in table.handle_timers(5.1)) == 1_500  # Timer K
    assert len(table) == 1_500
    table.handle_timers(40.0)
    assert len(table) == 0 and table._slots == {} and table._slot_numbers == []


def test_the_wakeup_is_the_end_of_the_earliest_deadlines_slot() -> None:
    """One call of `handle_timers` at the end of a slot fires every timer in it."""
    table = TransactionTable()
    starts = [10.002 + 0.001 * i for i in range(7)]  # Timer E at 10.502 to 10.508
    for start in starts:
        table.send_request(make_request("OPTIONS", branch_id=branch()), PEER, start)
    assert table.next_deadline() == pytest.approx(10.502)
    wakeup = table.next_wakeup()
    assert wakeup is not None and 10.508 < wakeup <= 10.51
    assert kinds(table.handle_timers(wakeup)) == [Send] * 7
    assert table.next_deadline() == pytest.approx(wakeup + 1.0)  # Timer E, doubled, from then


def test_next_deadline_is_the_minimum_over_live_transactions() -> None:
    table = TransactionTable()
    rng = random.Random(3)
    live = []
    for i in range(2_000):
        now = i * 0.001
        if i % 3 == 0:
            tx = only(
                table.receive_request(make_request("INVITE", branch_id=branch()), PEER, now),
                RequestReceived,
            ).tx
            table.send_response(
                tx, make_response(tx.request, rng.choice([200, 486]), to_tag="t"), now
            )
        else:
            tx, _ = table.send_request(
                make_request("BYE", branch_id=branch()), PEER, now, reliable=i % 2 == 0
            )
        live.append(tx)
    now = 2.0
    for step in range(200):
        now += 0.25
        table.handle_timers(now)
        deadlines = [d for tx in live if not tx.terminated and (d := tx.next_deadline())]
        assert table.next_deadline() == (min(deadlines) if deadlines else None), step
        assert all(d > now for d in deadlines)
    assert len(table) == 0


def test_handle_timers_before_any_deadline_does_nothing() -> None:
    table = TransactionTable()
    table.send_request(make_request(branch_id=branch()), PEER, 10.0)
    assert table.handle_timers(10.49) == []
    assert table.next_deadline() == 10.5
    assert kinds(table.handle_timers(10.5)) == [Send]


# -- memory --------------------------------------------------------------------------------------


def test_transactions_are_freed_by_reference_counting_alone() -> None:
    """No reference cycles: a server at thousands of calls a second cannot afford the pauses of
    the cycle collector (DESIGN "Speed"), so a finished transaction must free itself."""
    gc.collect()
    gc.disable()
    try:
        table = TransactionTable()
        server = only(table.receive_request(make_request(), PEER, 0.0), RequestReceived).tx
        table.send_response(server, make_response(server.request, 486, to_tag="t"), 0.1)
        table.receive_request(make_request("ACK", to_tag="t"), PEER, 0.2)
        table.receive_request(make_request("ACK", branch_id="z9hG4bKlate", to_tag="t"), PEER, 0.2)
        invite = make_request(branch_id=branch())
        client, _ = table.send_request(invite, PEER, 0.0)
        table.receive_response(make_response(invite, 486, to_tag="t"), 0.3)
        table.receive_response(make_response(invite, 180, to_tag="t"), 0.4)  # Discarded
        other, _ = table.send_request(make_request("BYE", branch_id=branch()), PEER, 0.0)
        table.transport_error(other, 0.5)
        table.handle_timers(100.0)
        assert len(table) == 0
        del table, server, invite, client, other
        assert gc.collect() == 0
    finally:
        gc.enable()
