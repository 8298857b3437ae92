"""The location service: every line's current bindings, in memory, for routing.

The registrar changes it only after the change is committed to PostgreSQL, so what routing
sees is always what survives a restart.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

from ..store import Binding
from ..transport import Peer


def peer_of(binding: Binding) -> Peer:
    """Where a registered phone is reached: the address and listener its REGISTER came from
    (behind NAT that is not its Contact)."""
    return Peer(
        binding.source_transport,
        binding.source_host,
        binding.source_port,
        None,
        binding.local_port,
    )


class LocationService:
    """Every line's bindings, by line and by contact, and when each expires.

    A node holds an entry for every registered phone, so entries are lean: a line with one
    binding (most lines) holds the binding itself, a line with more a tuple of them, and
    expiry keeps the bindings in one list per second rather than a heap of tuples.
    """

    __slots__ = ("_by_contact", "_by_line", "_due", "_seconds")

    def __init__(self) -> None:
        self._by_line: dict[str, Binding | tuple[Binding, ...]] = {}
        self._by_contact: dict[str, Binding] = {}
        # the bindings expiring within each whole second; stale ones are skipped when due
        self._due: dict[int, list[Binding]] = {}
        self._seconds: list[int] = []  # heap of the keys of `_due`

    def load(self, bindings: Iterable[Binding]) -> None:
        for binding in bindings:
            self._put(binding)

    def bindings(self, line: str, now: float | None = None) -> list[Binding]:
        """A line's live bindings, highest q first (the order calls fork in)."""
        held = self._by_line.get(line)
        if held is None:
            return []
        if not isinstance(held, tuple):
            return [held] if now is None or held.expires_at > now else []
        live = [b for b in held if now is None or b.expires_at > now]
        live.sort(key=lambda b: -b.q)
        return live

    def apply(self, line: str, upserts: Iterable[Binding], removals: Iterable[str]) -> None:
        current = self._of(line)
        if current:
            gone = set(removals)
            if gone:
                for binding in current:
                    if binding.contact in gone:
                        self._by_contact.pop(binding.contact, None)
                kept = tuple(b for b in current if b.contact not in gone)
                # emptied, the line keeps its place (`lines()`) until the upserts are in
                self._by_line[line] = kept[0] if len(kept) == 1 else kept
        for binding in upserts:
            self._put(binding)
        if self._by_line.get(line) == ():
            del self._by_line[line]

    def remove_line(self, line: str) -> None:
        for binding in self._of(line):
            self._by_contact.pop(binding.contact, None)
        self._by_line.pop(line, None)

    def replace_line(self, line: str, bindings: Iterable[Binding]) -> None:
        """A line's bindings as another node wrote them: these, and no others."""
        self.remove_line(line)
        for binding in bindings:
            self._put(binding)

    def replace_all(self, bindings: Iterable[Binding]) -> None:
        """Every binding, read again (after changes may have been missed)."""
        fresh = LocationService()
        fresh.load(bindings)
        self._by_line, self._by_contact = fresh._by_line, fresh._by_contact
        self._due, self._seconds = fresh._due, fresh._seconds

    def find_contact(self, contact: str) -> Binding | None:
        """The binding registered with exactly this contact URI (to reach it behind NAT)."""
        return self._by_contact.get(contact)

    def expire(self, now: float) -> list[Binding]:
        """Drop and return the bindings whose time is up, soonest first."""
        gone: list[Binding] = []
        seconds = self._seconds
        while seconds and seconds[0] <= now:
            second = seconds[0]
            entries = self._due[second]
            later = [b for b in entries if b.expires_at > now]
            if later:  # the second `now` is in: only part of it is due
                self._due[second] = later
                entries = [b for b in entries if b.expires_at <= now]
            else:
                heapq.heappop(seconds)
                del self._due[second]
            entries.sort(key=_expiry_order)
            for entry in entries:
                dropped = self._drop(entry)
                if dropped is not None:
                    gone.append(dropped)
            if later:
                break
        return gone

    def next_expiry(self) -> float | None:
        if not self._seconds:
            return None
        return min(b.expires_at for b in self._due[self._seconds[0]])

    def __len__(self) -> int:
        return sum(1 if not isinstance(v, tuple) else len(v) for v in self._by_line.values())

    def lines(self) -> list[str]:
        return list(self._by_line)

    # -- the entries -------------------------------------------------------------------------

    def _of(self, line: str) -> tuple[Binding, ...]:
        held = self._by_line.get(line)
        if held is None:
            return ()
        return held if isinstance(held, tuple) else (held,)

    def _hold(self, line: str, bindings: tuple[Binding, ...]) -> None:
        if not bindings:
            self._by_line.pop(line, None)
        else:
            self._by_line[line] = bindings[0] if len(bindings) == 1 else bindings

    def _put(self, binding: Binding) -> None:
        line, contact = binding.line_number, binding.contact
        current = self._of(line)
        for index, existing in enumerate(current):
            if existing.contact == contact:  # a refresh keeps the contact's place
                self._hold(line, (*current[:index], binding, *current[index + 1 :]))
                break
        else:
            self._hold(line, (*current, binding))
        self._by_contact[contact] = binding
        second = math.floor(binding.expires_at)
        due = self._due.get(second)
        if due is None:
            self._due[second] = [binding]
            heapq.heappush(self._seconds, second)
        else:
            due.append(binding)

    def _drop(self, entry: Binding) -> Binding | None:
        """Remove the binding `entry` was queued for, unless refreshed or removed since."""
        line = entry.line_number
        current = self._of(line)
        for index, binding in enumerate(current):
            if binding.contact == entry.contact:
                if binding.expires_at != entry.expires_at:
                    return None  # refreshed since
                self._hold(line, current[:index] + current[index + 1 :])
                self._by_contact.pop(entry.contact, None)
                return binding
        return None


def _expiry_order(binding: Binding) -> tuple[float, str, str]:
    return (binding.expires_at, binding.line_number, binding.contact)
