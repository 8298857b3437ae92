"""The operator queue on a real PostgreSQL: two nodes sharing one queue, the take race,
restarts, overflow, distribution and operator accounts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from softswitch.queue import (
    AlreadyTaken,
    CallState,
    Distribution,
    NotServing,
    OperatorUnavailable,
    Position,
    PositionState,
    QueueCall,
    QueueConfig,
    QueueOverflow,
    QueueService,
    Subscription,
    add_operator,
    authenticate,
)
from softswitch.store import LineInUseError, Store

pytestmark = pytest.mark.integration

PASSWORD = "switchboard-1"


async def provision(store: Store) -> None:
    await store.add_exchange("ASH", "Ashford", "5551")
    await store.add_exchange("CED", "Cedar Falls", "5553", mode="manual")
    for number in ("5551001", "5551002", "5551003", "5551004"):
        await store.add_line(number, "ASH", f"Line {number}")
    await store.add_line("5553001", "CED", "Cedar Falls post office", jack_label="C-01")
    await add_operator(store, "ann", "5551002", PASSWORD, ["CED"], "Ann Oakes")
    await add_operator(store, "bob", "5551003", PASSWORD, ["CED", "ASH"], "Bob Reed")
    await add_operator(store, "cy", "5551004", PASSWORD, ["ASH"])


@pytest.fixture
async def node_a(store: Store) -> AsyncIterator[QueueService]:
    await provision(store)
    service = QueueService(store, "node-a")
    await service.start(tick_interval=None)
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture
async def node_b(fresh_database_url: str, node_a: QueueService) -> AsyncIterator[QueueService]:
    """A second node: its own connections to the same database."""
    store = await Store.open(fresh_database_url)
    service = QueueService(store, "node-b")
    await service.start(tick_interval=None)
    try:
        yield service
    finally:
        await service.close()
        await store.close()


async def enqueue(service: QueueService, n: int = 1, **changes: Any) -> QueueCall:
    values: dict[str, Any] = {
        "queue": "CED",
        "exchange": "CED",
        "call_id": f"call-{n}-{time.monotonic_ns()}@192.0.2.1",
        "caller": "5551001",
        "caller_display": "Mrs. Hale",
        "dialed": "4001",
        "line": "5553001",
    }
    values.update(changes)
    return await service.enqueue(**values)


async def until(condition: Callable[[], bool], timeout: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def next_event(
    subscription: Subscription, match: Callable[[dict[str, Any]], bool], timeout: float = 1.0
) -> dict[str, Any]:
    async def find() -> dict[str, Any]:
        async for event in subscription:
            if match(event):
                return event
        raise AssertionError("subscription ended")

    return await asyncio.wait_for(find(), timeout)


# -- accounts ------------------------------------------------------------------------------


async def test_operator_password_is_verified_in_python(store: Store) -> None:
    await provision(store)
    row = await store.get_operator("ann")
    assert row is not None and row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash and "password_hash" not in repr(row)
    assert (await authenticate(store, "ann", PASSWORD)) is not None
    assert await authenticate(store, "ann", "switchboard-2") is None
    assert await authenticate(store, "nobody", PASSWORD) is None
    with pytest.raises(LineInUseError):
        await store.remove_line("5551002")  # ann's phone


# -- the queue across nodes ----------------------------------------------------------------


async def test_a_call_enqueued_on_one_node_is_seen_by_the_other_within_a_second(
    node_a: QueueService, node_b: QueueService
) -> None:
    async with node_b.subscribe() as events:
        snapshot = await anext(events)
        assert snapshot["type"] == "snapshot" and snapshot["calls"] == []
        started = time.monotonic()
        call = await enqueue(node_a)
        event = await next_event(events, lambda e: e["type"] == "call")
        assert time.monotonic() - started < 1.0
    assert event["event"] == "enqueued" and event["alert"] is False
    seen = event["call"]
    assert (seen["id"], seen["queue"], seen["node"], seen["jack_label"]) == (
        call.id,
        "CED",
        "node-a",
        "C-01",  # looked up from the line
    )
    assert [c.id for c in node_b.waiting("CED")] == [call.id]
    assert call.state is CallState.WAITING and call.exchange == "CED"


async def test_two_operators_racing_for_one_call_exactly_one_wins(
    node_a: QueueService, node_b: QueueService
) -> None:
    for login, service in (("ann", node_a), ("bob", node_b)):
        await service.set_position(login, "available")
    for round in range(5):
        call = await enqueue(node_a, round)
        await until(lambda c=call: node_b.get(c.id) is not None)
        results = await asyncio.gather(
            node_a.take(call.id, "ann"), node_b.take(call.id, "bob"), return_exceptions=True
        )
        winners = [r for r in results if isinstance(r, QueueCall)]
        losers = [r for r in results if isinstance(r, AlreadyTaken)]
        assert len(winners) == 1 and len(losers) == 1, results
        winner = winners[0]
        assert winner.state is CallState.WITH_OPERATOR and winner.operator in ("ann", "bob")
        assert losers[0].call.operator == winner.operator
        # the winner's position is busy on both nodes; the call goes back for the next round
        await until(lambda w=winner: _state(node_b, w.operator) is PositionState.BUSY)
        await node_a.mark_completed(winner.id)
        await until(lambda w=winner: _state(node_b, w.operator) is PositionState.AVAILABLE)
        await until(lambda w=winner: _state(node_a, w.operator) is PositionState.AVAILABLE)


def _state(service: QueueService, login: str | None) -> PositionState | None:
    position = service.position(login or "")
    return None if position is None else position.state


async def test_a_take_on_another_node_rings_the_operator_from_the_node_holding_the_call(
    node_a: QueueService, node_b: QueueService
) -> None:
    rung: asyncio.Queue[tuple[QueueCall, Position]] = asyncio.Queue()
    node_a.on_take(lambda call, position: rung.put_nowait((call, position)))
    node_b.on_take(lambda call, position: rung.put_nowait((call, position)))  # not its call
    await node_b.set_position("ann", "available")
    call = await enqueue(node_a)
    await until(lambda: node_b.get(call.id) is not None)
    taken = await node_b.take(call.id, "ann")
    held, position = await asyncio.wait_for(rung.get(), 1.0)
    assert (held.id, held.operator, held.node) == (call.id, "ann", "node-a")
    assert position.line == "5551002"
    await asyncio.sleep(0.2)
    assert rung.empty()  # only the node that holds the INVITE rings
    assert taken.taken_at is not None


async def test_take_refuses_what_cannot_be(node_a: QueueService) -> None:
    call = await enqueue(node_a)
    with pytest.raises(OperatorUnavailable):
        await node_a.take(call.id, "ann")  # offline
    await node_a.set_position("cy", "available")
    with pytest.raises(NotServing):
        await node_a.take(call.id, "cy")  # serves ASH only
    await node_a.set_position("ann", "available")
    await node_a.take(call.id, "ann")
    second = await enqueue(node_a, 2)
    with pytest.raises(OperatorUnavailable):
        await node_a.take(second.id, "ann")  # busy with the first


async def test_an_emergency_alerts_every_console_and_anyone_may_take_it(
    node_a: QueueService, node_b: QueueService
) -> None:
    ordinary = await enqueue(node_a, 1, queue="ASH", exchange="ASH", line=None, dialed="0")
    await until(lambda: node_b.get(ordinary.id) is not None)
    async with node_b.subscribe() as events:
        await anext(events)
        emergency = await enqueue(node_a, 2, queue="ASH", dialed="911", priority=9, line=None)
        event = await next_event(events, lambda e: e["type"] == "call")
    assert event["alert"] is True and event["call"]["emergency"] is True
    assert [c.id for c in node_a.waiting("ASH")] == [emergency.id, ordinary.id]
    await node_a.set_position("ann", "available")  # serves CED, not ASH
    assert (await node_a.take(emergency.id, "ann")).operator == "ann"


async def test_a_restarted_node_loads_the_waiting_calls(
    store: Store, fresh_database_url: str
) -> None:
    await provision(store)
    first = QueueService(store, "node-a")
    await first.start(tick_interval=None)
    one = await enqueue(first, 1)
    two = await enqueue(first, 2, priority=5)
    gone = await enqueue(first, 3)
    assert await first.abandon(gone.call_id) is not None
    assert await first.abandon(gone.call_id) is None  # a CANCEL twice: nothing more
    await first.close()

    again = await Store.open(fresh_database_url)
    try:
        restarted = QueueService(again, "node-a")
        await restarted.start(tick_interval=None)
        assert [c.id for c in restarted.waiting()] == [two.id, one.id]
        assert restarted.find(one.call_id) == restarted.get(one.id)
        failed = await restarted.fail_orphans(held=[two.call_id])
        assert [c.id for c in failed] == [one.id]
        assert [c.id for c in restarted.waiting()] == [two.id]
        await restarted.close()
    finally:
        await again.close()


# -- the life of a call --------------------------------------------------------------------


async def test_take_connect_and_wrap_up(node_a: QueueService, node_b: QueueService) -> None:
    await node_a.configure(QueueConfig(queue="CED", wrap_up_seconds=30))
    await until(lambda: node_b.config("CED").wrap_up_seconds == 30)
    events_seen: list[str] = []
    node_a.on_event(lambda call: events_seen.append(call.event.value))
    now = float(int(time.time()))  # whole seconds: exact through timestamptz
    await node_a.set_position("ann", "available", now=now)
    call = await enqueue(node_a, now=now)
    await node_b.take(call.id, "ann", now=now + 12)  # the console is on node b
    connecting = await node_a.mark_connecting(call.id, now=now + 40)
    assert connecting.connect_to == "5553001" and connecting.state is CallState.CONNECTING
    await node_a.mark_connect_failed(call.id, note="busy", now=now + 50)
    await node_a.mark_connecting(call.id, "5553002", now=now + 60)
    done = await node_a.mark_connected(call.id, now=now + 70)
    assert (done.state, done.outcome, done.connect_to) == (
        CallState.CONNECTED,
        "connected",
        "5553002",
    )
    assert node_a.get(call.id) is None  # ended calls leave the live queue
    ann = node_a.position("ann")
    assert ann is not None and ann.state is PositionState.WRAP_UP
    assert ann.wrap_up_until == pytest.approx(now + 100)
    await node_a.tick(now + 99)
    assert _state(node_a, "ann") is PositionState.WRAP_UP
    await node_a.tick(now + 100)
    assert _state(node_a, "ann") is PositionState.AVAILABLE
    await until(lambda: _state(node_b, "ann") is PositionState.AVAILABLE)
    await until(lambda: len(events_seen) >= 6)
    assert events_seen == [
        "enqueued",
        "taken",
        "connecting",
        "connect_failed",
        "connecting",
        "connected",
    ]

    stats = await node_b.stats("CED", now=now + 200)
    assert (stats.offered, stats.taken, stats.connected, stats.abandoned) == (1, 1, 1, 0)
    assert stats.wait_p50 == pytest.approx(12) and stats.service_level == 1.0


async def test_positions_and_their_events(node_a: QueueService, node_b: QueueService) -> None:
    async with node_b.subscribe() as events:
        await anext(events)
        await node_a.set_position("ann", "available")
        event = await next_event(events, lambda e: e["type"] == "position")
        assert event["position"]["login"] == "ann"
        assert event["position"]["state"] == "available"
        paused = await node_a.set_position("ann", PositionState.PAUSED, reason="lunch")
        assert (paused.state, paused.reason) == (PositionState.PAUSED, "lunch")
        event = await next_event(events, lambda e: e["type"] == "position")
        assert event["position"]["reason"] == "lunch"
    assert [p.login for p in node_b.positions()] == ["ann", "bob", "cy"]
    await node_a.set_position("ann", "offline")
    await until(lambda: _state(node_b, "ann") is PositionState.OFFLINE)


# -- overflow and distribution -------------------------------------------------------------


async def test_overflow_by_wait_moves_the_call_to_another_queue(node_a: QueueService) -> None:
    await node_a.configure(QueueConfig(queue="CED", max_wait=60, overflow_queue="ASH"))
    now = float(int(time.time()))  # whole seconds: exact through timestamptz
    call = await enqueue(node_a, now=now)
    assert await node_a.tick(now + 59) == []
    [result] = await node_a.tick(now + 60)
    assert result.call.state is CallState.OVERFLOWED and not result.must_answer
    assert result.moved_to is not None
    moved = result.moved_to
    assert (moved.queue, moved.hops, moved.call_id, moved.line) == (
        "ASH",
        1,
        call.call_id,
        "5553001",
    )
    assert node_a.find(call.call_id) == moved  # a CANCEL now abandons the new entry
    assert (await node_a.abandon(call.call_id)) is not None
    stats = await node_a.stats("CED", now=now + 70)
    assert (stats.offered, stats.overflowed) == (1, 1)


async def test_overflow_by_wait_answers_with_a_status(node_a: QueueService) -> None:
    await node_a.configure(
        QueueConfig(queue="CED", max_wait=30, overflow_status=486, retry_after=600)
    )
    answered: list[Any] = []
    node_a.on_overflow(answered.append)
    now = float(int(time.time()))  # whole seconds: exact through timestamptz
    call = await enqueue(node_a, now=now)
    [result] = await node_a.tick(now + 31)
    assert result.must_answer and (result.status, result.retry_after) == (486, 600)
    assert result.call.id == call.id and result.call.outcome == "overflowed"
    await until(lambda: len(answered) == 1)


async def test_a_full_queue_turns_the_call_away(node_a: QueueService) -> None:
    await node_a.configure(QueueConfig(queue="CED", max_length=1, retry_after=120))
    await enqueue(node_a, 1)
    with pytest.raises(QueueOverflow) as caught:
        await enqueue(node_a, 2)
    assert (caught.value.status, caught.value.retry_after) == (480, 120)
    assert caught.value.call.state is CallState.OVERFLOWED
    emergency = await enqueue(node_a, 3, priority=9)  # never turned away
    assert emergency.state is CallState.WAITING
    await node_a.configure(QueueConfig(queue="CED", max_length=1, overflow_queue="ASH"))
    moved = await enqueue(node_a, 4)
    assert (moved.queue, moved.hops) == ("ASH", 1)


async def test_longest_idle_offers_and_moves_on_after_the_ring_timeout(
    node_a: QueueService, node_b: QueueService
) -> None:
    await node_a.configure(
        QueueConfig(queue="CED", distribution=Distribution.LONGEST_IDLE, ring_timeout=15)
    )
    now = float(int(time.time()))  # whole seconds: exact through timestamptz
    await node_a.set_position("bob", "available", now=now - 100)  # idle longest
    await node_a.set_position("ann", "available", now=now - 10)
    call = await enqueue(node_a, now=now)
    await node_b.tick(now)  # node b holds nothing: does nothing
    assert node_a.get(call.id) is not None
    assert node_a.get(call.id).state is CallState.WAITING  # type: ignore[union-attr]
    await node_a.tick(now)
    offered = node_a.get(call.id)
    assert offered is not None and offered.offered_to == ("bob",)
    await node_a.tick(now + 15)  # bob did not answer: ann
    offered = node_a.get(call.id)
    assert offered is not None and offered.offered_to == ("ann",)
    await until(lambda: (c := node_b.get(call.id)) is not None and c.offered_to == ("ann",))
    taken = await node_b.take(call.id, "ann", now=now + 20)
    assert taken.operator == "ann"


async def test_a_node_that_lost_its_connection_catches_up_and_resends_a_snapshot(
    node_a: QueueService, node_b: QueueService, fresh_database_url: str
) -> None:
    async with node_b.subscribe() as events:
        assert (await anext(events))["type"] == "snapshot"
        conn = await asyncpg.connect(fresh_database_url)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND query LIKE 'LISTEN%softswitch_queue%'"
            )
        finally:
            await conn.close()
        assert killed == 2  # both nodes' listeners
        call = await enqueue(node_a)  # while nobody listens: only a reload can find it
        snapshot = await next_event(
            events,
            lambda e: e["type"] == "snapshot" and call.id in [c["id"] for c in e["calls"]],
            timeout=10,
        )
    assert snapshot["node"] == "node-b"
    assert [c.id for c in node_b.waiting()] == [call.id]
