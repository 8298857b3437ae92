"""What the page is sent: calls, the history book, directory entries."""

from __future__ import annotations

from dataclasses import replace

from softswitch.queue import CallEvent, QueueCall
from softswitch.web.history import CallBook
from softswitch.web.views import call_view, directory_view, history_view

CALL = QueueCall(
    id=7,
    queue="CED",
    exchange="CED",
    caller="5551001",
    caller_display="Mrs. Hale",
    dialed="5553001",
    line="5553001",
    jack_label="C-01",
    node="node-a",
    call_id="abc@192.0.2.1",
    enqueued_at=100.0,
)


def test_a_call_as_the_page_sees_it() -> None:
    view = call_view(CALL)
    assert view == call_view(CALL.as_dict())
    assert view["caller_name"] == "Mrs. Hale" and view["jack"] == "C-01"
    assert view["queued"] and not view["emergency"]
    assert "call_id" not in view and "node" not in view  # SIP internals stay on the server
    urgent = call_view(replace(CALL, priority=9))
    assert urgent["emergency"] and urgent["priority"] == 9
    taken = call_view(CALL.apply(CallEvent.TAKE, 110.0, operator="alice"))
    assert not taken["queued"] and taken["operator"] == "alice" and taken["taken_at"] == 110.0


def test_the_book_follows_a_call_while_its_operator_has_it() -> None:
    book = CallBook(size=2)
    waiting = CALL.as_dict()
    book.observe(waiting)
    assert book.recent("alice") == []
    taken = CALL.apply(CallEvent.TAKE, 110.0, operator="alice")
    book.observe(taken.as_dict())
    connecting = taken.apply(CallEvent.CONNECT, 120.0, connect_to="5553002")
    book.observe(connecting.as_dict())
    book.observe(connecting.apply(CallEvent.CONNECTED, 125.0).as_dict())
    [(seen, note)] = book.recent("alice")
    assert seen["state"] == "connected" and note is None
    assert history_view(seen, note)["outcome"] == "connected to 5553002"
    assert book.set_note("alice", 7, "asked for the doctor")
    assert not book.set_note("bob", 7, "not mine")
    assert book.recent("alice")[0][1] == "asked for the doctor"
    assert book.owner(7) == "alice"


def test_a_call_sent_back_stays_in_the_first_operators_book_as_sent_back() -> None:
    book = CallBook()
    taken = CALL.apply(CallEvent.TAKE, 110.0, operator="alice")
    book.observe(taken.as_dict())
    returned = taken.apply(CallEvent.RETURN, 115.0)
    book.observe(returned.as_dict())
    again = returned.apply(CallEvent.TAKE, 120.0, operator="bob")
    book.observe(again.as_dict())
    book.observe(again.apply(CallEvent.COMPLETE, 130.0).as_dict())
    alice = book.recent("alice")[0][0]
    assert alice["operator"] == "alice"
    assert history_view(alice, None)["outcome"] == "sent back to the queue"
    assert history_view(book.recent("bob")[0][0], None)["outcome"] == "completed by the operator"
    assert book.owner(7) == "bob"


def test_the_book_keeps_the_latest_calls() -> None:
    book = CallBook(size=2)
    for id in (1, 2, 3):
        book.observe(replace(CALL, id=id).apply(CallEvent.TAKE, 110.0, operator="alice").as_dict())
    assert [call["id"] for call, _ in book.recent("alice")] == [3, 2]


def test_directory_entries_under_either_name() -> None:
    assert directory_view(
        {
            "number": "5553001",
            "display_name": "Post office",
            "exchange_code": "CED",
            "jack_label": "C-01",
        }
    ) == {
        "number": "5553001",
        "name": "Post office",
        "exchange": "CED",
        "exchange_name": None,
        "jack": "C-01",
    }
