"""The collector schedule of the serving process: every tick the young objects are collected
and the survivors frozen, and everything is collected at the longer interval, so a cycle is not
kept forever."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from softswitch.collector import THRESHOLDS, CollectorSchedule


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def restore_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.disable()  # no automatic collection between the steps: only the schedule's
    yield
    gc.enable()
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def cycle() -> weakref.ref[Node]:
    """A pair of objects that only the cyclic collector can free, and a way to see it go."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def frozen_cycle() -> tuple[weakref.ref[Node], Node]:
    """A cycle, and the one reference that keeps it: dropped after the next tick froze it, it
    is garbage only a full collection finds."""
    held = Node()
    held.other = Node()
    held.other.other = held
    return weakref.ref(held), held


async def test_survivors_are_frozen_and_a_full_collection_frees_frozen_cycles(
    restore_collector: None,
) -> None:
    schedule = CollectorSchedule(young_interval=0.05, full_interval=0.6)
    schedule.start()
    try:
        assert gc.get_threshold() == THRESHOLDS
        frozen_at_start = gc.get_freeze_count()
        assert frozen_at_start > 0
        kept = [Node() for _ in range(100)]
        garbage, held = frozen_cycle()
        await asyncio.sleep(0.15)
        assert gc.get_freeze_count() >= frozen_at_start + len(kept)
        del held  # garbage only after it was frozen
        gc.collect()
        assert garbage() is not None, "a frozen cycle is out of the collector's reach"
        await asyncio.sleep(0.8)
        assert schedule.full_collections >= 1
        assert garbage() is None, "the full collection freed the frozen cycle"
    finally:
        await schedule.stop()
    assert schedule._task is None


async def test_a_young_cycle_is_collected_at_the_next_tick(restore_collector: None) -> None:
    """Every object is walked once, while young: a cycle that is garbage before the tick after
    it was made is freed by that tick, without waiting for the full collection."""
    schedule = CollectorSchedule(young_interval=0.05, full_interval=3600)
    schedule.start()
    try:
        garbage = cycle()
        assert garbage() is not None, "automatic collection is off: only the schedule frees it"
        await asyncio.sleep(0.2)
        assert garbage() is None, "the tick's collection of the young objects freed it"
        assert schedule.full_collections == 0
    finally:
        await schedule.stop()


async def test_everything_is_collected_only_once_the_node_is_quiet(
    restore_collector: None,
) -> None:
    """The full collection walks the state of every call alive: it waits until few
    transactions are alive, then comes at the next tick."""
    alive = [5_000]
    schedule = CollectorSchedule(
        lambda: alive[0], young_interval=0.02, full_interval=0.1, quiet_transactions=1_000
    )
    schedule.start()
    try:
        garbage, held = frozen_cycle()
        await asyncio.sleep(0.1)
        del held
        await asyncio.sleep(0.5)
        assert schedule.full_collections == 0, "busy: not one full collection"
        assert garbage() is not None
        alive[0] = 1_000
        await asyncio.sleep(0.2)
        assert schedule.full_collections >= 1
        assert garbage() is None
    finally:
        await schedule.stop()


async def test_a_node_never_quiet_is_collected_at_the_limit(restore_collector: None) -> None:
    schedule = CollectorSchedule(
        lambda: 50_000, young_interval=0.02, full_interval=0.05, full_limit=0.4
    )
    schedule.start()
    try:
        garbage, held = frozen_cycle()
        await asyncio.sleep(0.1)
        del held
        await asyncio.sleep(0.1)
        assert schedule.full_collections == 0
        await asyncio.sleep(0.5)
        assert schedule.full_collections >= 1
        assert garbage() is None
    finally:
        await schedule.stop()
