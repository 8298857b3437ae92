"""The admission control of overload, and the occupancy it is fed."""

from __future__ import annotations

import time

import pytest

from softswitch.overload import (
    BEHIND,
    CUT,
    DEEP_CUT,
    MIN_ADMITTED,
    NEARLY_FULL,
    AdmissionControl,
    RefusalTally,
    ThreadOccupancy,
)

FULL = 1.0  # a full receive buffer
BACKED_UP = (BEHIND + NEARLY_FULL) / 2  # behind, with room left in the buffer


def test_below_the_target_everything_is_admitted() -> None:
    control = AdmissionControl(0.9)
    for occupancy, backlog in ((0.1, FULL), (0.5, 0.0), (0.89, FULL)):
        control.update(occupancy, backlog)  # bursts, each gone by itself
    assert control.admitted == 1.0 and not control.shedding
    assert all(control.admit() for _ in range(1000))
    assert control.refused == 0


def test_busy_but_keeping_up_sheds_nothing() -> None:
    control = AdmissionControl(0.9)
    for _ in range(20):
        control.update(1.0, BEHIND - 0.01)
    assert control.admitted == 1.0


def test_busy_and_behind_cuts_the_share_each_interval_down_to_a_trickle() -> None:
    control = AdmissionControl(0.9)
    control.update(0.95, BACKED_UP)
    assert control.admitted == pytest.approx(CUT)
    control.update(1.0, BACKED_UP + 0.01)
    assert control.admitted == pytest.approx(CUT**2)
    control.update(1.0, 0)  # caught up, still busy: held
    assert control.admitted == pytest.approx(CUT**2)
    for _ in range(50):
        control.update(1.0, FULL)
    assert control.admitted == MIN_ADMITTED


def test_a_nearly_full_buffer_is_cut_deeper() -> None:
    control = AdmissionControl(0.9)
    control.update(0.95, NEARLY_FULL)
    assert control.admitted == pytest.approx(DEEP_CUT)
    assert DEEP_CUT < CUT


def test_a_buffer_full_at_two_readings_is_cut_even_with_the_thread_idle() -> None:
    """A thread stopped or blocked is not busy on the CPU, and its queue overflows all the
    same."""
    control = AdmissionControl(0.9)
    control.update(0.4, FULL)  # could be a burst: nothing cut
    assert control.admitted == 1.0
    control.update(0.4, FULL)  # still full a quarter second later: no burst
    assert control.admitted == pytest.approx(DEEP_CUT)


def test_a_queue_still_filling_leaves_no_room_to_grow() -> None:
    control = AdmissionControl(0.9)
    control.update(1.0, BACKED_UP)
    control.update(0.85, BACKED_UP + 0.01)  # just under the target, the queue still growing
    assert control.admitted == pytest.approx(CUT)
    control.update(0.85, BACKED_UP)  # draining: room again
    assert control.admitted > CUT


def test_a_queue_draining_after_a_cut_is_given_time_before_another() -> None:
    control = AdmissionControl(0.9)
    control.update(1.0, BACKED_UP)
    control.update(1.0, BACKED_UP - 0.05)  # still behind, but draining: held
    assert control.admitted == pytest.approx(CUT)
    control.update(1.0, BACKED_UP)  # filling again: cut
    assert control.admitted == pytest.approx(CUT**2)


def test_without_a_backlog_reading_the_occupancy_alone_decides() -> None:
    control = AdmissionControl(0.9)
    control.update(0.95, None)
    assert control.admitted == pytest.approx(CUT)


def test_when_the_load_falls_the_share_grows_back_to_all() -> None:
    control = AdmissionControl(0.9)
    for _ in range(20):
        control.update(1.0, FULL)
    shares = []
    for _ in range(20):
        control.update(0.3, 0)
        shares.append(control.admitted)
    assert shares == sorted(shares)  # never down while the load is low
    assert shares[0] < 0.1  # not all at once: the load that caused it may still be there
    assert shares[-1] == 1.0 and not control.shedding


def test_refusals_are_spread_evenly() -> None:
    control = AdmissionControl(0.5)
    control.update(1.0, BACKED_UP)  # share 0.7
    decisions = [control.admit() for _ in range(100)]
    assert sum(decisions) == 70
    assert control.refused == 30
    runs = "".join("a" if taken else "r" for taken in decisions)
    assert "rr" not in runs  # with more than half admitted, never two refusals in a row


def test_a_target_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="overload target"):
        AdmissionControl(1.5)
    with pytest.raises(ValueError, match="overload target"):
        AdmissionControl(0.0)


def test_occupancy_reads_a_busy_thread_as_busy_and_a_sleeping_one_as_idle() -> None:
    occupancy = ThreadOccupancy()
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        pass
    busy = occupancy.read()
    time.sleep(0.2)
    idle = occupancy.read()
    assert busy > 0.8
    assert idle < 0.2


def test_refusals_are_written_down_a_minute_at_a_time() -> None:
    tally = RefusalTally()
    assert tally.take(1000.0) is None and not tally.due(1000.0)
    minute = 60.0 * 100
    tally.count("INVITE", minute + 10)
    tally.count("REGISTER", minute + 20)
    tally.count("INVITE", minute + 59)
    assert not tally.due(minute + 59.9)
    assert tally.due(minute + 60.1)
    # read late, the interval still ends with its minute: it never reaches into the next hour
    assert tally.take(minute + 75) == (minute + 10, minute + 60, 2, 1)
    assert tally.take(minute + 76) is None and not tally.due(minute + 200)
    tally.count("REGISTER", minute + 200)
    assert tally.take(minute + 201) == (minute + 200, minute + 201, 0, 1)
