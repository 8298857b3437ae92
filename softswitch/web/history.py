"""Each operator's recent calls and their notes, for the console's history panel.

When the queue service keeps a history itself (`history(operator, limit)` and
`set_note(id, note)`), the console uses that. Otherwise this book keeps it in memory, fed by
the same events as the live queue: a call enters an operator's book when they take it and
follows it until it leaves them (connected, sent back, ended). A restart empties it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .views import HELD

__all__ = ["CallBook"]

HISTORY_SIZE = 50
OWNERS_SIZE = 10_000


class CallBook:
    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self.size = size
        # operator -> call id -> (the call as last seen while it was theirs, their note)
        self._books: dict[str, OrderedDict[int, list[Any]]] = {}
        # call id -> the latest operator who had it
        self._owners: OrderedDict[int, str] = OrderedDict()

    def observe(self, call: Mapping[str, Any]) -> None:
        """A change to a call (`QueueCall.as_dict()`)."""
        id = call["id"]
        operator = call.get("operator")
        if operator and call["state"] in HELD:
            book = self._books.setdefault(operator, OrderedDict())
            self._owners[id] = operator
            self._owners.move_to_end(id)
            while len(self._owners) > OWNERS_SIZE:
                self._owners.popitem(last=False)
            entry = book.get(id)
            if entry is None:
                book[id] = [dict(call), None]
                while len(book) > self.size:
                    book.popitem(last=False)
            else:
                entry[0] = dict(call)
            return
        # The call left its operator: record how, in the book of whoever last held it.
        for book in self._books.values():
            entry = book.get(id)
            if entry is None or entry[0]["state"] not in HELD:
                continue
            if operator is None or entry[0].get("operator") == operator:
                entry[0] = dict(call, operator=entry[0].get("operator"))

    def recent(self, operator: str, limit: int = 20) -> list[tuple[dict[str, Any], str | None]]:
        """The operator's calls, latest first, with their notes."""
        book = self._books.get(operator)
        if not book:
            return []
        return [(call, note) for call, note in reversed(book.values())][:limit]

    def owner(self, id: int) -> str | None:
        """The latest operator who had call `id`."""
        return self._owners.get(id)

    def has(self, operator: str, id: int) -> bool:
        return id in self._books.get(operator, {})

    def call_id(self, operator: str, id: int) -> str | None:
        """The SIP Call-ID of call `id` in the operator's book (what its record is kept by)."""
        book = self._books.get(operator)
        entry = None if book is None else book.get(id)
        return None if entry is None else entry[0].get("call_id")

    def set_note(self, operator: str, id: int, note: str) -> bool:
        book = self._books.get(operator)
        entry = None if book is None else book.get(id)
        if entry is None:
            return False
        entry[1] = note or None
        return True
