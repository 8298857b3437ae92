"""CallRecorder: the call records made of what the proxy observes, without a database."""

from __future__ import annotations

import pytest

from softswitch.proxy.observer import CallObserver
from softswitch.proxy.records import CallRecorder, disposition_for, split_route
from softswitch.store import CallRecord, InvalidValueError

ROUTE = 'line 5551002 (exchange ASH), number 5551002 by rule "ashford"'


class Sink:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.flushes = 0

    def record_cdr(self, record: CallRecord) -> None:
        self.records.append(record)

    async def flush(self) -> None:
        self.flushes += 1


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def recorder(sink: Sink) -> CallRecorder:
    return CallRecorder(sink, "node-a", setup_limit=3600, call_limit=86400)


def start(recorder: CallRecorder, call_id: str, now: float, route: str = ROUTE) -> None:
    recorder.call_started(call_id, "5551001", "002", "5551002", route, now)


@pytest.mark.parametrize(
    ("status", "disposition"),
    [
        (486, "busy"),
        (600, "busy"),
        (408, "no answer"),
        (480, "no answer"),
        (487, "cancelled"),
        (404, "rejected"),
        (403, "rejected"),
        (603, "rejected"),
        (500, "failed"),
        (503, "failed"),
    ],
)
def test_dispositions_of_final_errors(status: int, disposition: str) -> None:
    assert disposition_for(status) == disposition


def test_is_a_call_observer(recorder: CallRecorder) -> None:
    observer: CallObserver = recorder
    assert observer is recorder


def test_answered_call(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "a", 1000.0)
    recorder.call_answered("a", 1005.0)
    recorder.call_answered("a", 1006.0)  # only the first answer counts
    assert sink.records == [] and recorder.open_calls == 1
    recorder.call_ended("a", "caller", 1065.5)
    (record,) = sink.records
    assert record == CallRecord(
        call_id="a",
        caller="5551001",
        dialed="002",
        number="5551002",
        rule="ashford",
        route="line 5551002 (exchange ASH)",
        started_at=1000.0,
        answered_at=1005.0,
        ended_at=1065.5,
        disposition="answered",
        status=200,
        node="node-a",
        ended_by="caller",
    )
    assert record.duration_seconds == 60.5
    assert recorder.open_calls == 0


def test_failed_call_and_late_events(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "b", 1000.0)
    start(recorder, "b", 1000.1, route="trunk sip:x")  # a spiral: the first routing stands
    recorder.call_failed("b", 486, "Busy Here", 1003.0)
    recorder.call_ended("b", "caller", 1004.0)  # no longer open: ignored
    recorder.call_answered("unknown", 1004.0)
    recorder.call_failed("unknown", 500, "", 1004.0)
    (record,) = sink.records
    assert (record.disposition, record.status, record.reason) == ("busy", 486, "Busy Here")
    assert (record.route, record.ended_at, record.answered_at) == (
        "line 5551002 (exchange ASH)",
        1003.0,
        None,
    )


def test_an_error_after_the_answer_does_not_undo_it(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "c", 1000.0)
    recorder.call_answered("c", 1002.0)
    recorder.call_failed("c", 487, "Request Terminated", 1002.1)
    assert sink.records == []
    recorder.call_ended("c", "callee", 1010.0)
    assert [r.disposition for r in sink.records] == ["answered"]


@pytest.mark.parametrize(
    ("route", "rule", "target"),
    [
        ("ashford: exchange ASH, served here", "ashford", "exchange ASH, served here"),
        (
            "night:ced: operator queue of ASH, priority 0",
            "night:ced",
            "operator queue of ASH, priority 0",
        ),
        ("-: reject 404 No route", None, "reject 404 No route"),
        (ROUTE, "ashford", "line 5551002 (exchange ASH)"),
        (
            "trunk sip:bir.county.test (exchange BIR)",
            None,
            "trunk sip:bir.county.test (exchange BIR)",
        ),
        ("", None, ""),
    ],
)
def test_split_route(route: str, rule: str | None, target: str) -> None:
    assert split_route(route) == (rule, target)


def test_route_without_a_rule(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "d", 1000.0, route="reject 404 No route, number 5559999")
    recorder.call_failed("d", 404, "No route", 1000.0)
    assert (sink.records[0].rule, sink.records[0].route) == (None, "reject 404 No route")


def test_calls_without_an_end_are_written_and_forgotten(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "ringing", 1000.0)
    start(recorder, "talking", 1000.0)
    recorder.call_answered("talking", 1001.0)
    start(recorder, "fresh", 4000.0)
    assert recorder.open_calls == 3

    start(recorder, "later", 4700.0)  # an hour after the first: "ringing" is given up
    assert [(r.call_id, r.disposition) for r in sink.records] == [("ringing", "failed")]
    assert sink.records[0].note == "no final response within 3600 s"
    assert recorder.open_calls == 3

    recorder.call_answered("later", 90000.0)  # a day after the answer: no BYE will come now
    assert [r.call_id for r in sink.records] == ["ringing", "talking", "fresh"]
    talking = sink.records[1]
    assert (talking.disposition, talking.ended_at) == ("answered", None)
    assert talking.note == "no end seen within 86400 s of the answer"
    assert recorder.open_calls == 1


async def test_close_writes_what_is_open(recorder: CallRecorder, sink: Sink) -> None:
    start(recorder, "up", 1000.0)
    recorder.call_answered("up", 1001.0)
    start(recorder, "ringing", 1002.0)
    await recorder.close(1010.0)
    by_id = {r.call_id: r for r in sink.records}
    assert (by_id["up"].disposition, by_id["up"].ended_at) == ("answered", None)
    assert (by_id["ringing"].disposition, by_id["ringing"].ended_at) == ("failed", 1010.0)
    assert sink.flushes == 1 and recorder.open_calls == 0
    start(recorder, "after", 1020.0)  # closed: nothing more is recorded
    assert recorder.open_calls == 0


def test_a_failing_sink_does_not_reach_the_signaling_path(recorder: CallRecorder) -> None:
    class Refusing(Sink):
        def record_cdr(self, record: CallRecord) -> None:
            raise InvalidValueError("no")

    quiet = CallRecorder(Refusing(), "node-a")
    start(quiet, "x", 1000.0)
    quiet.call_failed("x", 503, "Service Unavailable", 1001.0)
    assert quiet.open_calls == 0
