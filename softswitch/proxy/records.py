"""Call detail records from what the proxy observes: one `CallRecord` per call attempt.

`CallRecorder` implements `CallObserver`. It keeps each open call in a dict by Call-ID (started,
then answered, then ended), and hands the finished record to the store's batched writer, which
returns at once: nothing here waits for the database. A call is written when its INVITE gets a
final error response, or when an answered call ends. Calls whose end never comes do not stay
in memory for ever: a call with no final response after `setup_limit` seconds is written as
failed, and an answered call with no BYE after `call_limit` seconds is written with no end time;
both are then forgotten. `close()` writes the calls still open and waits for the writes.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Sequence
from typing import Protocol

from ..store import CallRecord, Disposition

__all__ = ["CallNotes", "CallRecorder", "CdrSink", "NoteStore", "disposition_for", "split_route"]

log = logging.getLogger(__name__)

SETUP_LIMIT = 3600.0  # seconds a call may wait for a final response
CALL_LIMIT = 86400.0  # seconds an answered call may last without its BYE being seen
SWEEP_INTERVAL = 60.0

# The route text the proxy gives names the rule and the target, either as `<rule>: <target>`
# (`-` for no rule) or as a routing decision describes itself:
# `<target>, number <number> by rule "<rule>"`. The rule is kept in a column of its own.
_RULE_FIRST = re.compile(r'(?P<rule>[^\s"]+): (?P<target>.*)', re.DOTALL)
_RULE_LAST = re.compile(
    r'(?P<target>.*?)(?:, number \S+)?(?: by rule "(?P<rule>[^"]*)")?', re.DOTALL
)

_BUSY = frozenset({486, 600})
_NO_ANSWER = frozenset({408, 480})
_CANCELLED = 487


class CdrSink(Protocol):
    """Where records go: the store (`record_cdr` must return at once)."""

    def record_cdr(self, record: CallRecord) -> None: ...

    def flush(self) -> Awaitable[None]: ...


def split_route(route: str) -> tuple[str | None, str]:
    """(rule, target) of the route text the proxy gives."""
    found = _RULE_FIRST.fullmatch(route) or _RULE_LAST.fullmatch(route)
    if found is None:
        return None, route
    rule = found["rule"]
    return (rule if rule and rule != "-" else None), found["target"] or route


def disposition_for(status: int) -> Disposition:
    """The disposition of a call whose INVITE got the final non-2xx `status`."""
    if status in _BUSY:
        return "busy"
    if status in _NO_ANSWER:
        return "no answer"
    if status == _CANCELLED:
        return "cancelled"
    if 500 <= status < 600:
        return "failed"
    return "rejected"


class _Call:
    """One call in progress. Plain slots, no references to other objects: no cycles for the
    garbage collector to chase."""

    __slots__ = (
        "answered_at",
        "call_id",
        "caller",
        "connected_to",
        "dialed",
        "number",
        "queue_wait",
        "queued_at",
        "route",
        "rule",
        "started",
    )

    def __init__(
        self,
        call_id: str,
        caller: str,
        dialed: str,
        number: str,
        route: str,
        rule: str | None,
        started: float,
    ) -> None:
        self.call_id = call_id
        self.caller = caller
        self.dialed = dialed
        self.number = number
        self.route = route
        self.rule = rule
        self.started = started
        self.answered_at: float | None = None
        self.queued_at: float | None = None  # held for an operator since
        self.queue_wait: float | None = None
        self.connected_to: str | None = None


class CallRecorder:
    """A `CallObserver` that writes a call record for every call attempt."""

    def __init__(
        self,
        store: CdrSink,
        node: str,
        *,
        setup_limit: float = SETUP_LIMIT,
        call_limit: float = CALL_LIMIT,
    ) -> None:
        self._store = store
        self._node = node
        self._setup_limit = setup_limit
        self._call_limit = call_limit
        self._calls: dict[str, _Call] = {}
        self._next_sweep: float | None = None
        self._closed = False

    @property
    def open_calls(self) -> int:
        return len(self._calls)

    # -- CallObserver --------------------------------------------------------------------

    def call_started(
        self, call_id: str, caller: str, dialed: str, number: str, route: str, now: float
    ) -> None:
        self._sweep(now)
        if self._closed or call_id in self._calls:  # a spiral: the first routing is the call
            return
        rule, target = split_route(route)
        self._calls[call_id] = _Call(call_id, caller, dialed, number, target, rule, now)

    def call_answered(self, call_id: str, now: float) -> None:
        call = self._calls.get(call_id)
        if call is not None and call.answered_at is None:
            call.answered_at = now
        self._sweep(now)

    def call_failed(self, call_id: str, status: int, reason: str, now: float) -> None:
        call = self._calls.get(call_id)
        if call is None or call.answered_at is not None:  # a late error after the 2xx
            self._sweep(now)
            return
        del self._calls[call_id]
        disposition = disposition_for(status)
        if call.queued_at is not None:
            # held for an operator until now: turned away by a queue limit, or hung up
            call.queue_wait = now - call.queued_at
            if status == _CANCELLED:
                disposition = "abandoned in queue"
        self._write(call, disposition, status=status, reason=reason or None, ended_at=now)
        self._sweep(now)

    def call_ended(self, call_id: str, by: str, now: float) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            if call.connected_to is not None:
                self._write(
                    call,
                    "connected by operator",
                    status=200,
                    ended_at=now,
                    ended_by=by,
                    note=f"connected to {call.connected_to}",
                )
            elif call.answered_at is not None:
                self._write(call, "answered", status=200, ended_at=now, ended_by=by)
            else:  # a BYE before any 2xx: not a call that was answered
                disposition: Disposition = "cancelled" if by == "caller" else "failed"
                self._write(
                    call, disposition, ended_at=now, ended_by=by, note="ended before an answer"
                )
        self._sweep(now)

    # -- the switchboard -------------------------------------------------------------------

    def call_queued(self, call_id: str, now: float) -> None:
        """The call waits for an operator (182 Queued)."""
        call = self._calls.get(call_id)
        if call is not None and call.queued_at is None:
            call.queued_at = now

    def call_taken(self, call_id: str, now: float) -> None:
        """An operator answered the queued caller: the queue wait ends, the call is answered."""
        call = self._calls.get(call_id)
        if call is None:
            return
        if call.queued_at is not None and call.queue_wait is None:
            call.queue_wait = now - call.queued_at
        self.call_answered(call_id, now)

    def call_connected(self, call_id: str, number: str, now: float) -> None:
        """The operator connected the caller to `number`."""
        call = self._calls.get(call_id)
        if call is not None:
            call.connected_to = number

    # -- lifetime ------------------------------------------------------------------------

    async def close(self, now: float | None = None) -> None:
        """Write the calls still open (answered ones with no end time, the others as failed),
        then wait until every record is written."""
        if now is None:
            now = time.time()
        self._closed = True
        calls, self._calls = self._calls, {}
        for call in calls.values():
            if call.answered_at is not None:
                self._write(call, "answered", status=200, note="still up when the node stopped")
            else:
                self._write(
                    call,
                    "failed",
                    ended_at=now,
                    note="no final response when the node stopped",
                )
        await self._store.flush()

    def _sweep(self, now: float) -> None:
        """Every `SWEEP_INTERVAL`, write and forget the calls past their limits."""
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        setup_deadline = now - self._setup_limit
        call_deadline = now - self._call_limit
        stale = [
            call
            for call in self._calls.values()
            if (call.answered_at is None and call.started <= setup_deadline)
            or (call.answered_at is not None and call.answered_at <= call_deadline)
        ]
        for call in stale:
            del self._calls[call.call_id]
            if call.answered_at is None:
                self._write(
                    call,
                    "failed",
                    note=f"no final response within {self._setup_limit:g} s",
                )
            else:
                self._write(
                    call,
                    "answered",
                    status=200,
                    note=f"no end seen within {self._call_limit:g} s of the answer",
                )

    def _write(
        self,
        call: _Call,
        disposition: Disposition,
        *,
        status: int | None = None,
        reason: str | None = None,
        ended_at: float | None = None,
        ended_by: str | None = None,
        note: str | None = None,
    ) -> None:
        record = CallRecord(
            call_id=call.call_id,
            caller=call.caller,
            dialed=call.dialed,
            number=call.number,
            rule=call.rule,
            route=call.route,
            started_at=call.started,
            answered_at=call.answered_at,
            ended_at=ended_at,
            disposition=disposition,
            status=status,
            reason=reason,
            node=self._node,
            note=note,
            ended_by=ended_by,
            queue_wait_seconds=call.queue_wait,
        )
        try:
            self._store.record_cdr(record)
        except Exception:  # the signaling path must not fail for a record
            log.exception("call record of %s not written", call.call_id)


class NoteStore(Protocol):
    """Where operators' notes are kept: the store (`cdr_notes`, read with the call records)."""

    async def set_call_note(self, call_id: str, operator: str, note: str) -> None: ...

    async def call_notes(self, call_ids: Sequence[str]) -> dict[str, str]: ...


class CallNotes:
    """The operator's note on a call, kept with its call record: typed in the console's
    history, shown by `softswitch cdr list` and `cdr show`. A note may come before the call
    ends (its record is written then) and may be changed later; an empty note removes it."""

    MAX_LENGTH = 1000

    def __init__(self, store: NoteStore) -> None:
        self._store = store

    async def set(self, call_id: str, operator: str, note: str) -> None:
        note = note.strip()
        if len(note) > self.MAX_LENGTH:
            raise ValueError(f"a note is at most {self.MAX_LENGTH} characters")
        await self._store.set_call_note(call_id, operator, note)

    async def get(self, call_ids: Sequence[str]) -> dict[str, str]:
        """The notes of these calls, by SIP Call-ID; calls with no note are left out."""
        wanted = [call_id for call_id in dict.fromkeys(call_ids) if call_id]
        return await self._store.call_notes(wanted) if wanted else {}
