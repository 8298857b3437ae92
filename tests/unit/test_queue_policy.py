"""Queue policy with a fake clock: answer order, distribution, limits and overflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from softswitch.queue.policy import (
    MAX_HOPS,
    Decisions,
    Distribution,
    Offer,
    OverflowAction,
    QueueConfig,
    Withdraw,
    admit,
    decide,
    in_order,
    overflow_action,
)
from softswitch.queue.states import (
    CallEvent,
    CallState,
    Position,
    PositionEvent,
    PositionState,
    QueueCall,
)

T0 = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def call(
    id: int, *, at: float = T0, queue: str = "CED", priority: int = 0, **kw: object
) -> QueueCall:
    return QueueCall(
        id=id,
        queue=queue,
        caller=f"555100{id}",
        dialed="5553001",
        node=str(kw.pop("node", "a")),
        call_id=f"call-{id}",
        enqueued_at=at,
        priority=priority,
        **kw,  # type: ignore[arg-type]
    )


def operator(
    login: str, idle_since: float, queues: tuple[str, ...] = ("CED",), **kw: object
) -> Position:
    values: dict[str, object] = {
        "login": login,
        "line": "5551002",
        "queues": queues,
        "state": PositionState.AVAILABLE,
        "since": idle_since,
        "idle_since": idle_since,
    }
    values.update(kw)
    return Position(**values)  # type: ignore[arg-type]


def configs(**by_queue: QueueConfig) -> Callable[[str], QueueConfig]:
    return lambda queue: by_queue.get(queue) or QueueConfig(queue=queue)


# -- order ---------------------------------------------------------------------------------


def test_first_come_first_served_within_a_priority() -> None:
    calls = [call(3, at=T0 + 2), call(1, at=T0), call(2, at=T0 + 1)]
    assert [c.id for c in in_order(calls)] == [1, 2, 3]


def test_higher_priority_first_and_emergency_at_the_head() -> None:
    calls = [
        call(1, at=T0),
        call(2, at=T0 + 1, priority=5),
        call(3, at=T0 + 60, priority=9),  # 911, arrived last
        call(4, at=T0 + 2, priority=5),
    ]
    ordered = in_order(calls)
    assert [c.id for c in ordered] == [3, 2, 4, 1]
    assert ordered[0].emergency


def test_equal_times_fall_back_to_the_id() -> None:
    assert [c.id for c in in_order([call(9), call(4)])] == [4, 9]


# -- distribution --------------------------------------------------------------------------


def test_manual_queues_offer_nothing() -> None:
    decisions = decide(T0, [call(1)], [operator("ann", T0 - 50)], configs())
    assert not decisions


def test_longest_idle_gets_the_oldest_call() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    ops = [operator("bob", T0 - 10), operator("ann", T0 - 300), operator("cy", T0 - 60)]
    calls = [call(2, at=T0 - 5), call(1, at=T0 - 20)]
    decisions = decide(T0, calls, ops, configs(CED=config))
    assert decisions.offers == [Offer(1, ("ann",)), Offer(2, ("cy",))]


def test_longest_idle_serves_only_operators_of_the_queue() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    ops = [operator("ann", T0 - 300, queues=("ASH",)), operator("bob", T0 - 10)]
    decisions = decide(T0, [call(1)], ops, configs(CED=config))
    assert decisions.offers == [Offer(1, ("bob",))]


def test_only_available_operators_without_an_offer_are_offered() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    ops = [
        operator("ann", T0 - 300, state=PositionState.PAUSED),
        operator("bob", T0 - 200, state=PositionState.BUSY),
        operator("cy", T0 - 100, state=PositionState.OFFLINE),
        operator("dee", T0 - 50),  # has call 1 offered
        operator("eve", T0 - 10),
    ]
    offered = call(1, state=CallState.OFFERED, offered_to=("dee",), offered_at=T0)
    decisions = decide(T0 + 1, [offered, call(2)], ops, configs(CED=config))
    assert decisions.offers == [Offer(2, ("eve",))]


def test_ring_timeout_moves_the_offer_to_the_next_operator() -> None:
    clock = Clock()
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE, ring_timeout=15)
    ops = [operator("ann", T0 - 300), operator("bob", T0 - 10)]
    waiting = call(1)
    first = decide(clock.now, [waiting], ops, configs(CED=config))
    assert first.offers == [Offer(1, ("ann",))]
    offered = waiting.apply(CallEvent.OFFER, clock.now, offered_to=("ann",))

    assert not decide(clock.advance(14.9), [offered], ops, configs(CED=config))

    declined: dict[int, set[str]] = {}
    rang_out = decide(clock.advance(0.1), [offered], ops, configs(CED=config), declined=declined)
    assert rang_out.withdrawals == [Withdraw(1, ("ann",))]
    assert rang_out.offers == [Offer(1, ("bob",))]  # ann rang out: the next one

    # Later, with ann tried, bob busy elsewhere: ann again rather than nobody.
    declined[1] = {"ann", "bob"}
    back = offered.apply(CallEvent.DECLINE, clock.now)
    ops[1] = replace(ops[1], state=PositionState.BUSY)
    again = decide(clock.advance(5), [back], ops, configs(CED=config), declined=declined)
    assert again.offers == [Offer(1, ("ann",))]


def test_declined_operators_are_skipped_while_others_are_left() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    ops = [operator("ann", T0 - 300), operator("bob", T0 - 10)]
    decisions = decide(T0, [call(1)], ops, configs(CED=config), declined={1: {"ann"}})
    assert decisions.offers == [Offer(1, ("bob",))]


def test_an_offer_to_an_operator_who_left_is_withdrawn_at_once() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE, ring_timeout=15)
    gone = operator("ann", T0 - 300, state=PositionState.OFFLINE)
    offered = call(1, state=CallState.OFFERED, offered_to=("ann",), offered_at=T0)
    decisions = decide(T0 + 1, [offered], [gone], configs(CED=config))
    assert decisions.withdrawals == [Withdraw(1, ("ann",))] and not decisions.offers


def test_ring_all_offers_the_head_call_to_every_available_operator() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.RING_ALL)
    ops = [
        operator("ann", T0 - 300),
        operator("bob", T0 - 10),
        operator("cy", T0 - 5, queues=("ASH",)),
        operator("dee", T0 - 1, state=PositionState.PAUSED),
    ]
    decisions = decide(T0, [call(2, at=T0 - 1), call(1, at=T0 - 9)], ops, configs(CED=config))
    assert decisions.offers == [Offer(1, ("ann", "bob"))]  # call 2 waits for the next


def test_an_emergency_is_offered_first_and_to_anyone_free_if_need_be() -> None:
    ash = QueueConfig(queue="ASH", distribution=Distribution.LONGEST_IDLE)
    ops = [operator("ann", T0 - 300, queues=("CED",))]  # nobody serves ASH
    calls = [call(1, at=T0 - 60, queue="ASH"), call(2, at=T0, queue="ASH", priority=9)]
    decisions = decide(T0, calls, ops, configs(ASH=ash))
    assert decisions.offers == [Offer(2, ("ann",))]


def test_only_the_calls_of_this_node_are_acted_on() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE, max_wait=10)
    ops = [operator("ann", T0 - 300)]
    calls = [call(1, at=T0 - 60, node="b"), call(2, at=T0, node="a")]
    decisions = decide(T0, calls, ops, configs(CED=config), node="a")
    assert decisions.offers == [Offer(2, ("ann",))] and not decisions.overflows


def test_wrap_up_ends_on_time() -> None:
    clock = Clock()
    busy = operator("ann", T0 - 300, state=PositionState.BUSY)
    wrapping = busy.apply(PositionEvent.RELEASE, clock.now, wrap_up=30)
    assert not decide(clock.advance(29), [], [wrapping], configs()).ready
    assert decide(clock.advance(1), [], [wrapping], configs()).ready == ["ann"]


def test_an_operator_whose_wrap_up_ends_now_is_offered_a_call_at_once() -> None:
    config = QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE)
    wrapping = operator("ann", T0 - 300, state=PositionState.WRAP_UP, wrap_up_until=T0)
    decisions = decide(T0, [call(1)], [wrapping], configs(CED=config))
    assert decisions.ready == ["ann"] and decisions.offers == [Offer(1, ("ann",))]


# -- limits and overflow -------------------------------------------------------------------


def test_overflow_by_wait_to_another_queue() -> None:
    clock = Clock()
    config = QueueConfig(queue="CED", max_wait=120, overflow_queue="ASH")
    waiting = call(1, at=clock.now)
    assert not decide(clock.advance(119), [waiting], [], configs(CED=config))
    decisions = decide(clock.advance(1), [waiting], [], configs(CED=config))
    assert decisions == Decisions(
        overflows=[decisions.overflows[0]], withdrawals=[], offers=[], ready=[]
    )
    overflow = decisions.overflows[0]
    assert overflow.call_id == 1 and overflow.action.queue == "ASH"
    assert overflow.action.status is None and "120" in overflow.action.why


def test_overflow_by_wait_with_a_final_status_and_retry_after() -> None:
    config = QueueConfig(queue="CED", max_wait=60, overflow_status=486, retry_after=300)
    decisions = decide(T0 + 60, [call(1)], [], configs(CED=config))
    action = decisions.overflows[0].action
    assert (action.queue, action.status, action.reason, action.retry_after) == (
        None,
        486,
        "Busy Here",
        300,
    )


def test_an_offered_call_overflows_too_and_is_not_offered_again() -> None:
    config = QueueConfig(
        queue="CED", distribution=Distribution.LONGEST_IDLE, max_wait=30, ring_timeout=15
    )
    offered = call(1, state=CallState.OFFERED, offered_to=("ann",), offered_at=T0 + 10)
    ops = [operator("ann", T0 - 300), operator("bob", T0 - 100)]
    decisions = decide(T0 + 30, [offered], ops, configs(CED=config))
    assert [o.call_id for o in decisions.overflows] == [1]
    assert not decisions.withdrawals and not decisions.offers


def test_overflow_by_length() -> None:
    config = QueueConfig(queue="CED", max_length=2, retry_after=60)
    assert admit(config, call(3), queued=1) is None
    action = admit(config, call(3), queued=2)
    assert action is not None
    assert (action.status, action.retry_after, action.why) == (480, 60, "queue CED is full")
    assert admit(QueueConfig(queue="CED"), call(3), queued=10_000) is None  # no limit


def test_an_emergency_is_never_turned_away() -> None:
    config = QueueConfig(queue="ASH", max_length=1, max_wait=10)
    emergency = call(1, queue="ASH", priority=9)
    assert admit(config, emergency, queued=50) is None
    assert not decide(T0 + 3600, [emergency], [], configs(ASH=config)).overflows
    moving = replace(config, overflow_queue="CED")
    action = admit(moving, emergency, queued=50)
    assert action == OverflowAction("queue ASH is full", queue="CED")


def test_overflow_moves_stop_after_max_hops() -> None:
    config = QueueConfig(queue="CED", overflow_queue="ASH", overflow_status=503)
    action = overflow_action(config, call(1, hops=MAX_HOPS - 1), "waited")
    assert action is not None and action.queue == "ASH"
    action = overflow_action(config, call(1, hops=MAX_HOPS), "waited")
    assert action is not None and (action.queue, action.status) == (None, 503)


@pytest.mark.parametrize("status", [480, 486, 503, 600, 499])
def test_overflow_status_reasons(status: int) -> None:
    action = overflow_action(QueueConfig(queue="Q", overflow_status=status), call(1), "full")
    assert action is not None and action.status == status and action.reason
