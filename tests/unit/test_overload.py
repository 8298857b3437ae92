"""The admission control of overload, and the occupancy it is fed."""

from __future__ import annotations

import time

import pytest

from softswitch.overload import (
    BEHIND,
    CUT,
    MIN_ADMITTED,
    AdmissionControl,
    ThreadOccupancy,
)

FULL = 1.0  # a full receive buffer


def test_below_the_target_everything_is_admitted() -> None:
    control = AdmissionControl(0.9)
    for occupancy in (0.1, 0.5, 0.89):
        control.update(occupancy, FULL)
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
    control.update(0.95, FULL)
    assert control.admitted == pytest.approx(CUT)
    control.update(1.0, FULL)
    assert control.admitted == pytest.approx(CUT**2)
    control.update(1.0, 0)  # caught up, still busy: held
    assert control.admitted == pytest.approx(CUT**2)
    for _ in range(50):
        control.update(1.0, FULL)
    assert control.admitted == MIN_ADMITTED


def test_a_queue_draining_after_a_cut_is_given_time_before_another() -> None:
    control = AdmissionControl(0.9)
    control.update(1.0, FULL)
    control.update(1.0, 0.9)  # still behind, but draining: held
    assert control.admitted == pytest.approx(CUT)
    control.update(1.0, 0.95)  # filling again: cut
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
    control.update(1.0, FULL)  # share 0.7
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
