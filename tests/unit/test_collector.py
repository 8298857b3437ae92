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
        held = Node()
        held.other = Node()
        held.other.other = held
        garbage = weakref.ref(held)
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
