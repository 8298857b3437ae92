"""The location service: every line's current bindings, in memory, for routing.

The registrar changes it only after the change is committed to PostgreSQL, so what routing
sees is always what survives a restart.
"""

from __future__ import annotations

import heapq
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
    __slots__ = ("_by_contact", "_by_line", "_expiry")

    def __init__(self) -> None:
        self._by_line: dict[str, dict[str, Binding]] = {}
        self._by_contact: dict[str, Binding] = {}
        # (expires_at, line, contact); stale entries are skipped when popped
        self._expiry: list[tuple[float, str, str]] = []

    def load(self, bindings: Iterable[Binding]) -> None:
        for binding in bindings:
            self._put(binding)

    def bindings(self, line: str, now: float | None = None) -> list[Binding]:
        """A line's live bindings, highest q first (the order calls fork in)."""
        current = self._by_line.get(line)
        if not current:
            return []
        live = [b for b in current.values() if now is None or b.expires_at > now]
        live.sort(key=lambda b: -b.q)
        return live

    def apply(self, line: str, upserts: Iterable[Binding], removals: Iterable[str]) -> None:
        current = self._by_line.get(line)
        if current is not None:
            for contact in removals:
                if current.pop(contact, None) is not None:
                    self._by_contact.pop(contact, None)
        for binding in upserts:
            self._put(binding)
        if line in self._by_line and not self._by_line[line]:
            del self._by_line[line]

    def remove_line(self, line: str) -> None:
        for contact in self._by_line.pop(line, {}):
            self._by_contact.pop(contact, None)

    def find_contact(self, contact: str) -> Binding | None:
        """The binding registered with exactly this contact URI (to reach it behind NAT)."""
        return self._by_contact.get(contact)

    def _put(self, binding: Binding) -> None:
        self._by_line.setdefault(binding.line_number, {})[binding.contact] = binding
        self._by_contact[binding.contact] = binding
        heapq.heappush(self._expiry, (binding.expires_at, binding.line_number, binding.contact))

    def expire(self, now: float) -> list[Binding]:
        """Drop and return the bindings whose time is up."""
        gone: list[Binding] = []
        heap = self._expiry
        while heap and heap[0][0] <= now:
            expires_at, line, contact = heapq.heappop(heap)
            current = self._by_line.get(line)
            binding = current.get(contact) if current else None
            if binding is None or binding.expires_at != expires_at:
                continue  # refreshed or removed since
            del current[contact]  # type: ignore[union-attr]
            self._by_contact.pop(contact, None)
            if not current:
                del self._by_line[line]
            gone.append(binding)
        return gone

    def next_expiry(self) -> float | None:
        return self._expiry[0][0] if self._expiry else None

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_line.values())

    def lines(self) -> list[str]:
        return list(self._by_line)
