"""What the proxy tells about the calls it carries, for call records and supervision.

The proxy calls these synchronously on the signaling path: an implementation must only note the
event in memory and return (writes to the database are batched elsewhere).
"""

from __future__ import annotations

from typing import Protocol


class CallObserver(Protocol):
    def call_started(
        self,
        call_id: str,
        caller: str,
        dialed: str,
        number: str,
        route: str,
        now: float,
    ) -> None:
        """An INVITE was accepted for routing: `caller` (a line number or `trunk:CODE`),
        `dialed` (as dialed), `number` (normalized and rewritten), `route` (rule and target)."""

    def call_answered(self, call_id: str, now: float) -> None:
        """The first 2xx to the INVITE went back to the caller."""

    def call_failed(self, call_id: str, status: int, reason: str, now: float) -> None:
        """The INVITE got a final non-2xx answer (487 when the caller cancelled)."""

    def call_ended(self, call_id: str, by: str, now: float) -> None:
        """A BYE passed through: `by` is "caller" or "callee"."""


class NoObserver:
    """Observes nothing."""

    def call_started(
        self, call_id: str, caller: str, dialed: str, number: str, route: str, now: float
    ) -> None:
        pass

    def call_answered(self, call_id: str, now: float) -> None:
        pass

    def call_failed(self, call_id: str, status: int, reason: str, now: float) -> None:
        pass

    def call_ended(self, call_id: str, by: str, now: float) -> None:
        pass
