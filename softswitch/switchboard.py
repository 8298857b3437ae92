"""The switchboard: the operator queue's SIP side tied to who waits and who answers.

Callers to lines that are not automated (a manual exchange, a dialplan `queue` rule) are held
with `182 Queued`; an operator who takes one has their phone rung with the caller's SDP and,
on answering, talks to the caller phone to phone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .dialog import HeldCall, QueueLegs
from .registrar import LocationService
from .routing import QueueTarget
from .sip import Request
from .transaction import ServerTransaction
from .transport import Peer

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Waiting:
    """A caller held for an operator, as the console shows it."""

    id: int
    queue: str
    exchange: str | None
    caller: str
    caller_display: str
    dialed: str
    line: str | None
    jack_label: str | None
    priority: int
    enqueued_at: float
    call_id: str
    operator: str | None = None
    state: str = "waiting"


class NotWaiting(LookupError):
    """The call is no longer waiting (taken by another operator, or the caller hung up)."""


class OperatorUnreachable(LookupError):
    """The operator's line has no registered phone."""


class Switchboard:
    def __init__(self, legs: QueueLegs, location: LocationService) -> None:
        self.legs = legs
        self.location = location
        self._waiting: dict[int, Waiting] = {}

    # -- from the call service ---------------------------------------------------------------

    def enqueue(
        self,
        request: Request,
        tx: ServerTransaction,
        target: QueueTarget,
        *,
        caller: str,
        number: str,
        jack_label: str | None,
    ) -> None:
        held = self.legs.hold(request, tx)
        entry = Waiting(
            id=held.id,
            queue=target.queue,
            exchange=target.exchange,
            caller=caller,
            caller_display=request.from_addr.display or caller,
            dialed=number,
            line=target.line,
            jack_label=jack_label,
            priority=target.priority,
            enqueued_at=time.time(),
            call_id=request.call_id,
        )
        self._waiting[held.id] = entry
        log.info("queued: %s for %s (queue %s)", caller, number, target.queue)

    def cancel(self, invite_tx: ServerTransaction) -> bool:
        return self.legs.cancel(invite_tx)

    # -- operators ---------------------------------------------------------------------------

    def waiting(self) -> list[Waiting]:
        """Who waits, emergencies first, then in order of arrival."""
        return sorted(self._waiting.values(), key=lambda w: (-w.priority, w.enqueued_at))

    def take(self, call_id: int, operator: str, operator_line: str) -> Waiting:
        """Ring `operator_line`'s phone with the caller; raises if it cannot be done."""
        entry = self._waiting.get(call_id)
        held = self.legs.held(call_id)
        if entry is None or held is None or entry.state != "waiting":
            raise NotWaiting(f"call {call_id} is not waiting")
        bindings = self.location.bindings(operator_line, time.time())
        if not bindings:
            raise OperatorUnreachable(f"no phone registered for line {operator_line}")
        binding = bindings[0]
        peer = Peer(
            binding.source_transport,
            binding.source_host,
            binding.source_port,
            None,
            binding.local_port,
        )
        where = f" ({entry.jack_label})" if entry.jack_label else ""
        display = f"{entry.caller_display} for {entry.dialed}{where}"
        entry.state = "offered"
        entry.operator = operator
        if held.caller_dialog is not None:
            # sent back earlier, so already answered: bring the operator in by re-INVITE
            self.legs.connect(held, binding.contact, peer, display, role="operator")
        else:
            self.legs.ring_operator(held, binding.contact, peer, display)
        return entry

    def send_back(self, call_id: int, operator: str) -> Waiting:
        """The operator puts the caller back in the queue, on hold."""
        entry, held = self._with(call_id, operator)
        self.legs.send_back(held)
        entry.state, entry.operator = "waiting", None
        return entry

    def hang_up(self, call_id: int, operator: str) -> None:
        _, held = self._with(call_id, operator)
        self.legs.hang_up(held)
        self._waiting.pop(call_id, None)

    def _with(self, call_id: int, operator: str) -> tuple[Waiting, HeldCall]:
        entry = self._waiting.get(call_id)
        held = self.legs.held(call_id)
        if entry is None or held is None:
            raise NotWaiting(f"call {call_id} is not in the queue")
        if entry.operator != operator:
            raise NotWaiting(f"call {call_id} is not with {operator}")
        return entry, held

    def connect(self, call_id: int, operator: str, number: str) -> Waiting:
        """Connect the caller with `operator` to line `number` (third-party call control)."""
        entry = self._waiting.get(call_id)
        held = self.legs.held(call_id)
        if entry is None or held is None or entry.state != "with operator":
            raise NotWaiting(f"call {call_id} is not with an operator")
        if entry.operator != operator:
            raise NotWaiting(f"call {call_id} is with another operator")
        bindings = self.location.bindings(number, time.time())
        if not bindings:
            raise OperatorUnreachable(f"no phone registered for line {number}")
        binding = bindings[0]
        peer = Peer(
            binding.source_transport,
            binding.source_host,
            binding.source_port,
            None,
            binding.local_port,
        )
        entry.state = "connecting"
        self.legs.connect(held, binding.contact, peer, entry.caller_display)
        return entry

    # -- from the SIP legs -------------------------------------------------------------------

    def abandoned(self, call: HeldCall) -> None:
        self._waiting.pop(call.id, None)

    def operator_answered(self, call: HeldCall) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "with operator"

    def operator_failed(self, call: HeldCall, status: int) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state, entry.operator = "waiting", None
        log.info("operator leg of queued call %d failed with %d", call.id, status)

    def connected(self, call: HeldCall) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "connected"

    def connect_failed(self, call: HeldCall, status: int) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "with operator"
        log.info("connecting queued call %d failed with %d", call.id, status)

    def transfer_requested(self, call: HeldCall, target: str) -> str | None:
        entry = self._waiting.get(call.id)
        if entry is None or entry.operator is None:
            return "Not with an operator"
        try:
            self.connect(call.id, entry.operator, target)
        except LookupError as err:
            return str(err)
        return None

    def ended(self, call: HeldCall, by: str) -> None:
        self._waiting.pop(call.id, None)
