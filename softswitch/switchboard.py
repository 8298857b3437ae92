"""The switchboard: the operator queue's SIP side tied to who waits and who answers.

Callers to lines that are not automated (a manual exchange, a dialplan `queue` rule) are held
with `182 Queued`; an operator who takes one has their phone rung with the caller's SDP and,
on answering, talks to the caller phone to phone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .calls import CallService
from .dialog import HeldCall, QueueLegs
from .proxy import TRUNK_FAILOVER, Target
from .proxy.records import CallRecorder
from .queue import Position, QueueCall, QueueOverflow, QueueService
from .queue.service import Overflowed
from .registrar import LocationService, peer_of
from .routing import QueueTarget
from .sip import Request
from .transaction import ServerTransaction

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
    operator_line: str | None = None  # short numbers the operator dials are from here


class NotWaiting(LookupError):
    """The call is no longer waiting (taken by another operator, or the caller hung up)."""


class OperatorUnreachable(LookupError):
    """The operator's line has no registered phone."""


class NotConnectable(LookupError):
    """The number the operator gave leads nowhere a call can be connected to."""


class Switchboard:
    def __init__(
        self,
        legs: QueueLegs,
        location: LocationService,
        queue_service: QueueService | None = None,
        recorder: CallRecorder | None = None,
        calls: CallService | None = None,
    ) -> None:
        self.legs = legs
        self.recorder = recorder
        self.calls = calls
        # per held call: destinations still to try after a failed connect, and its headers
        self._next_tries: dict[int, tuple[list[Target], tuple[tuple[str, str], ...]]] = {}
        self.location = location
        self.queue_service = queue_service
        self._waiting: dict[int, Waiting] = {}
        self._by_call_id: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # per held call, its latest update to the queue service: the next one waits for it,
        # so the service's state machine takes them in the order they happened
        self._updates: dict[int, asyncio.Task[None]] = {}
        if queue_service is not None:
            queue_service.on_overflow(self._overflowed)
            queue_service.on_take(self._taken)

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
        self._by_call_id[entry.call_id] = held.id
        log.info("queued: %s for %s (queue %s)", caller, number, target.queue)
        if self.recorder is not None:
            self.recorder.call_queued(entry.call_id, entry.enqueued_at)
        if self.queue_service is not None:
            self._spawn(held.id, lambda: self._enqueue(entry))

    def readopt(self, held: HeldCall, call: QueueCall) -> Waiting:
        """A caller a previous run of this node held, held again (`QueueLegs.adopt`): back in
        the list as its queue entry has it, and in the call records from its enqueue time."""
        entry = Waiting(
            id=held.id,
            queue=call.queue,
            exchange=call.exchange,
            caller=call.caller,
            caller_display=call.caller_display or call.caller,
            dialed=call.dialed,
            line=call.line,
            jack_label=call.jack_label,
            priority=call.priority,
            enqueued_at=call.enqueued_at,
            call_id=call.call_id,
        )
        self._waiting[held.id] = entry
        self._by_call_id[entry.call_id] = held.id
        if self.recorder is not None:
            number = call.line or call.dialed
            route = f"queue {call.queue}"
            self.recorder.call_started(
                call.call_id, call.caller, call.dialed, number, route, call.enqueued_at
            )
            self.recorder.call_queued(call.call_id, call.enqueued_at)
        return entry

    async def _enqueue(self, entry: Waiting) -> None:
        assert self.queue_service is not None
        try:
            await self.queue_service.enqueue(
                queue=entry.queue,
                call_id=entry.call_id,
                caller=entry.caller,
                dialed=entry.dialed,
                exchange=entry.exchange,
                caller_display=entry.caller_display,
                line=entry.line,
                jack_label=entry.jack_label,
                priority=entry.priority,
            )
        except QueueOverflow as turned_away:
            held = self.legs.held(entry.id)
            if held is not None:
                headers = []
                if turned_away.retry_after:
                    headers.append(("Retry-After", str(turned_away.retry_after)))
                self.legs.reject(held, turned_away.status, turned_away.reason, headers)
                self._record_turned_away(entry.call_id, turned_away.status, turned_away.reason)
            self._forget(entry.id)

    async def _taken(self, call: QueueCall, position: Position) -> None:
        """An operator (on any node) took a call this node holds: ring their phone."""
        held_id = self._by_call_id.get(call.call_id)
        if held_id is None:
            return
        try:
            self.take(held_id, position.login, position.line)
        except LookupError as err:
            assert self.queue_service is not None
            await self.queue_service.mark_returned(call.id, note=f"operator's phone: {err}")

    def _overflowed(self, overflowed: Overflowed) -> None:
        """A queue limit sent a call away: answer its caller (unless it moved queues)."""
        if overflowed.moved_to is not None:
            return
        held_id = self._by_call_id.get(overflowed.call.call_id)
        held = self.legs.held(held_id) if held_id is not None else None
        if held is None:
            return
        action = overflowed.action
        headers = [("Retry-After", str(action.retry_after))] if action.retry_after else []
        status, reason = action.status or 480, action.reason or "Temporarily Unavailable"
        self.legs.reject(held, status, reason, headers)
        self._record_turned_away(held.call_id, status, reason)
        self._forget(held.id)

    def _record_turned_away(self, call_id: str, status: int, reason: str | None) -> None:
        """The caller got a final status from the queue (not through the proxy, which would
        have told the recorder): its call record is written now."""
        if self.recorder is not None:
            self.recorder.call_failed(call_id, status, reason or "", time.time())

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
        now = time.time()
        bindings = (
            self.calls.reachable(operator_line, now)
            if self.calls is not None
            else self.location.bindings(operator_line, now)
        )
        if not bindings:
            raise OperatorUnreachable(f"no phone registered for line {operator_line}")
        binding = bindings[0]
        peer = peer_of(binding)
        where = f" ({entry.jack_label})" if entry.jack_label else ""
        display = f"{entry.caller_display} for {entry.dialed}{where}"
        entry.state = "offered"
        entry.operator = operator
        entry.operator_line = operator_line
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
        self._forget(call_id)

    def _with(self, call_id: int, operator: str) -> tuple[Waiting, HeldCall]:
        entry = self._waiting.get(call_id)
        held = self.legs.held(call_id)
        if entry is None or held is None:
            raise NotWaiting(f"call {call_id} is not in the queue")
        if entry.operator != operator:
            raise NotWaiting(f"call {call_id} is not with {operator}")
        return entry, held

    def connect(self, call_id: int, operator: str, number: str) -> Waiting:
        """Connect the caller with `operator` to `number` (third-party call control): a line
        here, a line of another exchange over its trunk, or a manual board's line over its
        board trunk; raises when the number leads nowhere."""
        entry = self._waiting.get(call_id)
        held = self.legs.held(call_id)
        if entry is None or held is None or entry.state != "with operator":
            raise NotWaiting(f"call {call_id} is not with an operator")
        if entry.operator != operator:
            raise NotWaiting(f"call {call_id} is with another operator")
        if self.calls is None:
            raise NotConnectable("this switchboard has no call routing")
        destination = self.calls.connect_target(number, entry.operator_line or "")
        if destination.error is not None:
            raise NotConnectable(destination.error)
        first, *rest = destination.targets
        entry.state = "connecting"
        self._next_tries[call_id] = (rest, destination.headers)
        self.legs.connect(
            held,
            first.uri,
            first.peer,
            entry.caller_display,
            headers=destination.headers,
            try_timeout=first.try_timeout,
        )
        return entry

    def _try_next(self, call: HeldCall, status: int) -> bool:
        """A trunk (or contact) that timed out or is unavailable: try the next one."""
        entry = self._waiting.get(call.id)
        rest, headers = self._next_tries.get(call.id, ([], ()))
        if status not in TRUNK_FAILOVER or not rest or entry is None:
            self._next_tries.pop(call.id, None)
            return False
        target = rest.pop(0)
        log.info("connecting queued call %d: %d, trying %s", call.id, status, target.uri)
        self.legs.connect(
            call,
            target.uri,
            target.peer,
            entry.caller_display,
            headers=headers,
            try_timeout=target.try_timeout,
        )
        return True

    # -- from the SIP legs -------------------------------------------------------------------

    def abandoned(self, call: HeldCall) -> None:
        self._forget(call.id)
        self._tell("abandon", call, call.call_id)

    def operator_answered(self, call: HeldCall) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "with operator"
        if self.recorder is not None:
            self.recorder.call_taken(call.call_id, time.time())

    def operator_failed(self, call: HeldCall, status: int) -> None:
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state, entry.operator = "waiting", None
        log.info("operator leg of queued call %d failed with %d", call.id, status)
        self._tell("mark_returned", call, note=f"operator's phone answered {status}")

    def connected(self, call: HeldCall) -> None:
        self._next_tries.pop(call.id, None)
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "connected"
        if self.recorder is not None:
            destination = call.dest_invite.request_uri if call.dest_invite is not None else None
            number = getattr(destination, "user", None) or str(destination or "")
            self.recorder.call_connected(call.call_id, number, time.time())
        self._tell("mark_connected", call)

    def connect_failed(self, call: HeldCall, status: int) -> None:
        if self._try_next(call, status):
            return
        entry = self._waiting.get(call.id)
        if entry is not None:
            entry.state = "with operator"
        log.info("connecting queued call %d failed with %d", call.id, status)
        why = {486: "busy", 600: "busy", 408: "no answer", 480: "no answer"}.get(status, "")
        self._tell("mark_connect_failed", call, note=f"{status} {why}".strip())

    def transfer_requested(self, call: HeldCall, target: str) -> str | None:
        entry = self._waiting.get(call.id)
        if entry is None or entry.operator is None:
            return "Not with an operator"
        try:
            self.connect(call.id, entry.operator, target)
        except LookupError as err:
            return str(err)
        self._tell("mark_connecting", call, target)  # as the console's connect does first
        return None

    def ended(self, call: HeldCall, by: str) -> None:
        if self.recorder is not None:
            who = "caller" if by == "caller" else "callee" if by == "destination" else by
            self.recorder.call_ended(call.call_id, who, time.time())
        entry = self._forget(call.id)
        if entry is None:
            return
        if entry.state == "with operator":
            self._tell("mark_completed", call, note=f"hung up by the {by}")
        elif entry.state in ("waiting", "offered"):
            self._tell("abandon", call, call.call_id)

    # -- the queue service -------------------------------------------------------------------

    def _forget(self, held_id: int) -> Waiting | None:
        self._next_tries.pop(held_id, None)
        entry = self._waiting.pop(held_id, None)
        if entry is not None:
            self._by_call_id.pop(entry.call_id, None)
        return entry

    def _tell(self, method: str, call: HeldCall, *args: object, **kwargs: object) -> None:
        """Pass an outcome of the SIP side to the queue service, in the background."""
        service = self.queue_service
        if service is None:
            return

        async def update() -> None:
            if method == "abandon":
                await service.abandon(*args, **kwargs)  # type: ignore[arg-type]
                return
            found = service.find(call.call_id)  # looked up now: it may have just been queued
            if found is not None:
                await getattr(service, method)(found.id, *args, **kwargs)

        self._spawn(call.id, update)

    def _spawn(self, held_id: int, update: Callable[[], Awaitable[Any]]) -> None:
        """Run `update` once the earlier updates of the same held call are done."""
        previous = self._updates.get(held_id)

        async def in_turn() -> None:
            if previous is not None:
                await asyncio.wait([previous])  # how it ended is logged by its own `_done`
            await update()

        task = asyncio.get_running_loop().create_task(in_turn())
        self._updates[held_id] = task
        self._tasks.add(task)
        task.add_done_callback(partial(self._done, held_id))

    def _done(self, held_id: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._updates.get(held_id) is task:
            del self._updates[held_id]
        if not task.cancelled() and task.exception() is not None:
            log.warning("queue update failed: %s", task.exception())

    def held_for(self, call_id: str) -> int | None:
        """The held call of a SIP Call-ID (what the console's queue entries carry)."""
        return self._by_call_id.get(call_id)


class ConsoleActions:
    """What the operator console's buttons do on the SIP side (after the queue agreed)."""

    def __init__(self, switchboard: Switchboard) -> None:
        self.switchboard = switchboard

    def _held(self, call: QueueCall) -> int:
        held = self.switchboard.held_for(call.call_id)
        if held is None:
            raise NotWaiting(f"call {call.id} is held by another node or has ended")
        return held

    async def take(self, call: QueueCall, operator: Position) -> None:
        """The queue service rings the phone through `on_take` on the node holding the call;
        here only refuse at once when the operator's phone is not registered anywhere."""
        if not self.switchboard.location.bindings(operator.line, time.time()):
            raise OperatorUnreachable(f"no phone registered for line {operator.line}")

    async def connect(self, call: QueueCall, operator: Position, number: str) -> None:
        self.switchboard.connect(self._held(call), operator.login, number)

    async def send_back(self, call: QueueCall, operator: Position) -> None:
        self.switchboard.send_back(self._held(call), operator.login)

    async def hang_up(self, call: QueueCall, operator: Position) -> None:
        self.switchboard.hang_up(self._held(call), operator.login)
