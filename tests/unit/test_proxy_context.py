"""The proxy's response context: forking order and the choice of the best response (§16.7)."""

from __future__ import annotations

from softswitch.proxy import TRUNK_FAILOVER, Target
from softswitch.proxy.context import Branch, ResponseContext
from softswitch.sip import Request, Response, make_response, parse_message
from softswitch.transport import Peer

INVITE = parse_message(
    b"INVITE sip:5551002@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ctx\r\n"
    b"From: <sip:5551001@127.0.0.1>;tag=a\r\nTo: <sip:5551002@127.0.0.1>\r\n"
    b"Call-ID: ctx\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)
assert isinstance(INVITE, Request)


def target(port: int, group: int = 0, failover: frozenset[int] | None = None) -> Target:
    return Target(
        f"sip:5551002@127.0.0.1:{port}",
        Peer("udp", "127.0.0.1", port),
        group=group,
        failover=failover,
    )


def context_with(*statuses: int, failover: frozenset[int] | None = None) -> ResponseContext:
    """A context whose first group's branches ended with `statuses`."""
    targets = [target(6000 + i, 0, failover) for i in range(len(statuses))]
    targets.append(target(7000, 1, failover))
    context = ResponseContext(INVITE, None, targets)
    for t, status in zip(context.take_next_group(), statuses, strict=True):
        branch = Branch(t, INVITE)
        branch.status = status
        branch.final = answer(status)
        context.branches.append(branch)
    return context


def answer(status: int) -> Response:
    return make_response(INVITE, status, to_tag="b")


def test_groups_follow_q_order_and_group_numbers() -> None:
    context = ResponseContext(INVITE, None, [target(1, 1), target(2, 0), target(3, 0)])
    assert [t.peer.port for t in context.take_next_group()] == [2, 3]
    assert [t.peer.port for t in context.take_next_group()] == [1]
    assert context.take_next_group() == []


def test_six_hundred_wins_and_stops_forking() -> None:
    context = context_with(486, 603, 404)
    assert context.best_response()[0] == 603
    assert not context.should_continue()


def test_lowest_class_and_preferred_4xx() -> None:
    assert context_with(486, 302).best_response()[0] == 302
    assert context_with(500, 486).best_response()[0] == 486
    assert context_with(486, 407, 404).best_response()[0] == 407  # the caller can act on it
    assert context_with(404, 480).best_response()[0] == 404


def test_503_is_not_passed_upstream_as_is() -> None:
    status, response = context_with(503).best_response()
    assert (status, response) == (500, None)


def test_no_answer_at_all_is_408() -> None:
    context = ResponseContext(INVITE, None, [target(1)])
    assert context.best_response() == (408, None)


def test_next_group_only_when_the_current_one_failed() -> None:
    assert context_with(486).should_continue()  # busy on the first phone: ring the next
    pending = context_with(486)
    pending.branches[0].status = 180
    assert not pending.should_continue()  # still ringing
    answered = context_with(486)
    answered.answered = True
    assert not answered.should_continue()


def test_trunk_failover_moves_on_only_for_408_and_503() -> None:
    assert context_with(408, failover=TRUNK_FAILOVER).should_continue()
    assert context_with(503, failover=TRUNK_FAILOVER).should_continue()
    assert not context_with(486, failover=TRUNK_FAILOVER).should_continue()
    assert not context_with(404, failover=TRUNK_FAILOVER).should_continue()
