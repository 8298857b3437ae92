"""The live operator queue of one node: calls and positions in memory, kept equal on every
node through PostgreSQL.

Every change is written first (a guarded UPDATE: see `softswitch.store.queue_calls`), then
applied to memory and pushed to the subscriptions; the other nodes hear of it by NOTIFY and
read the row. Each row carries a revision, so a change is applied once and never undone by an
older one arriving late.

The node that holds a call's INVITE (`QueueCall.node`) is the one that acts on it: its
`on_take` callbacks run when an operator on any node takes the call (to ring the operator's
phone), its `on_event` callbacks for every change, and its `tick()` offers, withdraws and
overflows it. Callbacks run one at a time, in order, in a task of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import replace
from typing import Any

from softswitch.store import OperatorRow, QueueCallRow, Store

from . import policy
from .errors import (
    AlreadyTaken,
    NotServing,
    OperatorUnavailable,
    QueueError,
    QueueOverflow,
    UnknownOperator,
    UnknownQueueCall,
)
from .events import Event, Subscription, call_event, position_event, position_removed
from .hooks import SerialRunner
from .mirror import Mirror
from .policy import OverflowAction, Overflowed, QueueConfig
from .rows import (
    call_from_row,
    call_to_row,
    config_to_row,
    position_change,
)
from .states import (
    HELD_STATES,
    CallEvent,
    CallState,
    InvalidTransition,
    Position,
    PositionEvent,
    PositionState,
    QueueCall,
    position_event_for,
)
from .stats import QueueStats, compute_stats

__all__ = ["QueueService"]

log = logging.getLogger(__name__)

TakeCallback = Callable[[QueueCall, Position], Awaitable[None] | None]
EventCallback = Callable[[QueueCall], Awaitable[None] | None]
OverflowCallback = Callable[[Overflowed], Awaitable[None] | None]

# How often a guarded write is retried after finding the row changed by someone else.
_ATTEMPTS = 3
# The default window of `stats()`.
STATS_WINDOW = 24 * 3600.0
_TAKEABLE = (CallState.WAITING.value, CallState.OFFERED.value)


class QueueService:
    """The operator queue as seen from node `node`. `await start()` before use, `await
    close()` after. `clock` gives the time when a method is not given `now`."""

    def __init__(self, store: Store, node: str, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.node = node
        self._clock = clock
        self._mirror = Mirror()
        self._calls = self._mirror.calls  # live calls by id (the same dict)
        self._positions = self._mirror.positions
        self._declined: dict[int, set[str]] = {}
        self._subscriptions: set[Subscription] = set()
        self._take_callbacks: list[TakeCallback] = []
        self._event_callbacks: list[EventCallback] = []
        self._overflow_callbacks: list[OverflowCallback] = []
        self._hooks = SerialRunner(f"softswitch-queue-hooks-{node}")
        self._tick_task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], Awaitable[None]] | None = None
        self._closed = False

    # -- life cycle ----------------------------------------------------------------------

    async def start(self, *, tick_interval: float | None = 1.0) -> None:
        """Listen for changes, load the live queue, and (with `tick_interval`) run `tick()`
        that often in the background."""
        self._unlisten = await self._store.listen_queue(self._notified, on_resync=self._resync)
        await self._load(initial=True)
        if tick_interval is not None:
            self._tick_task = asyncio.get_running_loop().create_task(
                self._tick_loop(tick_interval), name=f"softswitch-queue-tick-{self.node}"
            )

    async def close(self) -> None:
        self._closed = True
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tick_task
            self._tick_task = None
        await self._hooks.close()
        if self._unlisten is not None:
            await self._unlisten()
            self._unlisten = None
        for subscription in list(self._subscriptions):
            subscription.close()

    # -- reading -------------------------------------------------------------------------

    def get(self, id: int) -> QueueCall | None:
        """A live call by its id."""
        return self._calls.get(id)

    def find(self, call_id: str) -> QueueCall | None:
        """The live entry of a SIP call (by Call-ID)."""
        return self._mirror.find(call_id)

    def waiting(self, queue: str | None = None) -> list[QueueCall]:
        """Calls waiting for an operator (waiting or offered), in answer order."""
        return policy.in_order(
            c for c in self._calls.values() if c.queued and (queue is None or c.queue == queue)
        )

    def calls(self, queue: str | None = None) -> list[QueueCall]:
        """Every live call, those with an operator too, in answer order."""
        return policy.in_order(c for c in self._calls.values() if queue is None or c.queue == queue)

    def positions(self) -> list[Position]:
        return sorted(self._positions.values(), key=lambda p: p.login)

    def position(self, login: str) -> Position | None:
        return self._positions.get(login)

    def config(self, queue: str) -> QueueConfig:
        """The settings of `queue` (the defaults if it has none)."""
        return self._mirror.config(queue)

    def snapshot(self) -> Event:
        return {
            "type": "snapshot",
            "node": self.node,
            "calls": [call.as_dict() for call in self.calls()],
            "positions": [position.as_dict() for position in self.positions()],
        }

    # -- callbacks and subscriptions -----------------------------------------------------

    def on_take(self, callback: TakeCallback) -> None:
        """Call `callback(call, position)` on this node when an operator (on any node) takes
        a call this node holds: ring `position.line` and bridge it to the caller."""
        self._take_callbacks.append(callback)

    def on_event(self, callback: EventCallback) -> None:
        """Call `callback(call)` on this node for every change to a call it holds, whichever
        node made it; `call.event` says what happened (a console's `connecting` asks for the
        destination leg, `returned` to drop the operator's leg, ...)."""
        self._event_callbacks.append(callback)

    def on_overflow(self, callback: OverflowCallback) -> None:
        """Call `callback(overflowed)` for each call `tick()` overflows on this node."""
        self._overflow_callbacks.append(callback)

    def subscribe(self) -> Subscription:
        """Every change from now on, as events (see `softswitch.queue.events`), starting with a
        snapshot of the live queue."""
        subscription = Subscription(self.snapshot, self._subscriptions.discard)
        self._subscriptions.add(subscription)
        return subscription

    # -- the SIP side --------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        queue: str,
        call_id: str,
        caller: str,
        dialed: str,
        exchange: str | None = None,
        caller_display: str | None = None,
        line: str | None = None,
        jack_label: str | None = None,
        priority: int = 0,
        now: float | None = None,
    ) -> QueueCall:
        """Put a call held by this node in `queue`. `line` is the line it is for, if any (its
        jack label is looked up when not given). Returns the entry, which may be in another
        queue if this one was full and overflows there; raises `QueueOverflow` (with the
        status to answer) when the queue turns the call away."""
        now = self._now(now)
        if not 0 <= priority <= 9:
            raise ValueError("priority must be from 0 to 9")
        if line is not None and (jack_label is None or exchange is None):
            found = await self._store.get_line(line)
            if found is not None:
                jack_label = jack_label if jack_label is not None else found.jack_label
                exchange = exchange if exchange is not None else found.exchange_code
        draft = QueueCall(
            id=0,
            queue=queue,
            exchange=exchange,
            caller=caller,
            caller_display=caller_display,
            dialed=dialed,
            line=line,
            jack_label=jack_label,
            priority=priority,
            node=self.node,
            call_id=call_id,
            enqueued_at=now,
        )
        return await self._place(draft, now)

    async def abandon(self, call: int | str, now: float | None = None) -> QueueCall | None:
        """The caller hung up (CANCEL): by id or SIP Call-ID. None if the call is no longer
        in a queue (it ended already)."""
        found = self._calls.get(call) if isinstance(call, int) else self.find(call)
        if found is None:
            return None
        try:
            return await self._change(found.id, CallEvent.ABANDON, self._now(now))
        except (InvalidTransition, UnknownQueueCall):
            return None

    async def mark_connecting(
        self, id: int, destination: str | None = None, now: float | None = None
    ) -> QueueCall:
        """The operator connects the call to `destination` (default: the line it was for,
        else the number dialed)."""
        return await self._change(id, CallEvent.CONNECT, self._now(now), connect_to=destination)

    async def mark_connected(self, id: int, now: float | None = None) -> QueueCall:
        """The destination answered; the operator is released."""
        return await self._change(id, CallEvent.CONNECTED, self._now(now))

    async def mark_connect_failed(
        self, id: int, note: str | None = None, now: float | None = None
    ) -> QueueCall:
        """The destination did not answer; the caller is back with the operator."""
        return await self._change(id, CallEvent.CONNECT_FAILED, self._now(now), note=note)

    async def mark_returned(
        self, id: int, note: str | None = None, now: float | None = None
    ) -> QueueCall:
        """Back to the queue (the operator sent it back, or their phone did not answer)."""
        return await self._change(id, CallEvent.RETURN, self._now(now), note=note)

    async def mark_completed(
        self, id: int, note: str | None = None, now: float | None = None
    ) -> QueueCall:
        """The call ended with the operator, not connected (answered by the operator)."""
        return await self._change(id, CallEvent.COMPLETE, self._now(now), note=note)

    async def mark_failed(
        self, id: int, note: str | None = None, now: float | None = None
    ) -> QueueCall:
        return await self._change(id, CallEvent.FAIL, self._now(now), note=note)

    async def mark_overflowed(
        self, id: int, why: str = "sent away", now: float | None = None
    ) -> Overflowed:
        """Apply the queue's overflow action to a waiting call now."""
        call = await self._current(id)
        action = policy.overflow_action(self.config(call.queue), call, why)
        if action is None:  # an emergency call with nowhere to go: it has to be answered
            action = OverflowAction(why, status=self.config(call.queue).overflow_status)
        return await self._overflow(call, action, self._now(now))

    async def fail_orphans(
        self, held: Collection[str] = (), note: str = "the call was lost by its node"
    ) -> list[QueueCall]:
        """Mark failed the live calls of this node whose SIP Call-ID is not in `held` (after a
        restart: the calls a previous run held that this run could not hold again)."""
        failed = []
        for call in list(self._calls.values()):
            if call.node == self.node and call.call_id not in held:
                with contextlib.suppress(QueueError):
                    now = self._now(None)
                    failed.append(await self._change(call.id, CallEvent.FAIL, now, note=note))
        return failed

    # -- operators -----------------------------------------------------------------------

    async def take(self, id: int, operator: str, now: float | None = None) -> QueueCall:
        """`operator` takes call `id`. Raises `AlreadyTaken` if another operator took it first
        (or it left the queue), `OperatorUnavailable` if the operator is offline or busy,
        `NotServing` if they do not serve its queue (any operator may take an emergency)."""
        now = self._now(now)
        refreshed = False
        for _ in range(_ATTEMPTS):
            position = await self._operator(operator)
            call = await self._current(id)
            problem: QueueError | None = None
            busy = None
            if not call.queued:
                problem = AlreadyTaken(call)
            elif not (position.serves(call.queue) or call.emergency):
                problem = NotServing(operator, call.queue)
            else:
                try:
                    busy = position.apply(PositionEvent.TAKE, now)
                except InvalidTransition:
                    problem = OperatorUnavailable(operator, position.state.value)
            if problem is not None or busy is None:
                if refreshed:  # what memory said is what the database says
                    raise problem or QueueError("cannot take")
                refreshed = True
                await self._refresh(id)
                await self._refresh_operator(operator)
                continue
            taken = await self._store.take_queue_call(
                id,
                operator,
                from_states=_TAKEABLE,
                state=CallState.WITH_OPERATOR.value,
                event=CallEvent.TAKE.value,
                now=now,
                position=position_change(position, busy),
            )
            if taken.call is None:
                latest = await self._refresh(id)
                if latest is None:
                    raise UnknownQueueCall(id)
                raise AlreadyTaken(latest)
            if taken.operator is None:  # the position changed meanwhile: look again
                await self._refresh_operator(operator)
                continue
            self._absorb_operator(taken.operator)
            return self._absorb(taken.call) or call_from_row(taken.call)
        raise OperatorUnavailable(operator, "changing")

    async def set_position(
        self,
        operator: str,
        state: PositionState | str,
        reason: str | None = None,
        now: float | None = None,
    ) -> Position:
        """Log in (`available`), pause (with a reason), resume (`available`), end wrap-up early
        (`available`) or log out (`offline`). `busy` and `wrap_up` follow the calls."""
        target = PositionState(state)
        now = self._now(now)
        refreshed = False
        for _ in range(_ATTEMPTS):
            position = await self._operator(operator)
            if position.state is target and (
                target is not PositionState.PAUSED or reason in (None, position.reason)
            ):
                return position
            event = position_event_for(position.state, target)
            try:
                new = position.apply(event, now, reason=reason)
            except InvalidTransition:
                if refreshed:
                    raise
                refreshed = True  # memory may be behind the database: read it again
                await self._refresh_operator(operator)
                continue
            row = await self._store.update_position(position_change(position, new))
            if row is not None:
                return self._absorb_operator(row)
            await self._refresh_operator(operator)
        raise QueueError(f"the position of {operator} kept changing")

    async def configure(self, config: QueueConfig) -> QueueConfig:
        """Store a queue's settings; every node uses them at once."""
        return self._mirror.apply_config(await self._store.set_queue_config(config_to_row(config)))

    async def stats(
        self, queue: str | None = None, now: float | None = None, *, since: float | None = None
    ) -> QueueStats:
        """Statistics of the calls that entered `queue` (every queue with None) since `since`
        (default: the last 24 hours), read from the database."""
        now = self._now(now)
        rows = await self._store.queue_stats_rows(
            queue, now - STATS_WINDOW if since is None else since
        )
        threshold = self.config(queue or "").service_level_seconds
        return compute_stats(rows, threshold)

    # -- the clock -----------------------------------------------------------------------

    async def tick(self, now: float | None = None) -> list[Overflowed]:
        """Do what is due at `now` for the calls this node holds: overflow those past a limit,
        withdraw offers that rang out, offer waiting calls to free operators, end wrap-ups.
        Returns the calls overflowed (also given to the `on_overflow` callbacks)."""
        now = self._now(now)
        decisions = policy.decide(
            now,
            self._calls.values(),
            self._positions.values(),
            self.config,
            node=self.node,
            declined=self._declined,
        )
        overflowed: list[Overflowed] = []
        for overflow in decisions.overflows:
            with _logged("overflow", overflow.call_id):
                call = await self._current(overflow.call_id)
                overflowed.append(await self._overflow(call, overflow.action, now))
        for withdraw in decisions.withdrawals:
            self._declined.setdefault(withdraw.call_id, set()).update(withdraw.operators)
            with _logged("withdraw the offer of", withdraw.call_id):
                await self._change(withdraw.call_id, CallEvent.DECLINE, now)
        for offer in decisions.offers:
            with _logged("offer", offer.call_id):
                await self._change(offer.call_id, CallEvent.OFFER, now, offered_to=offer.operators)
        for login in decisions.ready:
            with _logged("end the wrap-up of", login):
                position = await self._operator(login)
                if position.state is PositionState.WRAP_UP:
                    await self.set_position(login, PositionState.AVAILABLE, now=now)
        for result in overflowed:
            for callback in self._overflow_callbacks:
                self._hooks.schedule(callback, result)
        return overflowed

    # -- changes -------------------------------------------------------------------------

    async def _place(self, draft: QueueCall, now: float) -> QueueCall:
        config = self.config(draft.queue)
        queued = sum(1 for c in self._calls.values() if c.queue == draft.queue and c.queued)
        action = policy.admit(config, draft, queued)
        if action is None:
            return self._absorb_new(await self._store.add_queue_call(call_to_row(draft)))
        turned_away = draft.apply(CallEvent.OVERFLOW, now, note=_overflow_note(action))
        ended = self._absorb_new(await self._store.add_queue_call(call_to_row(turned_away)))
        if action.queue is None:
            raise QueueOverflow(ended, action)
        moved = replace(draft, queue=action.queue, hops=draft.hops + 1, enqueued_at=now)
        return await self._place(moved, now)

    async def _overflow(self, call: QueueCall, action: OverflowAction, now: float) -> Overflowed:
        ended = call.apply(CallEvent.OVERFLOW, now, note=_overflow_note(action))
        if action.queue is None:
            row = await self._store.update_queue_call(call_to_row(ended), call.revision)
            if row is None:
                raise QueueError(f"call {call.id} changed while overflowing")
            return Overflowed(self._absorb(row) or call_from_row(row), action)
        moved = replace(
            call,
            id=0,
            queue=action.queue,
            state=CallState.WAITING,
            event=CallEvent.ENQUEUE,
            operator=None,
            offered_to=(),
            offered_at=None,
            taken_at=None,
            connect_to=None,
            hops=call.hops + 1,
            enqueued_at=now,
            note=None,
            revision=0,
        )
        rows = await self._store.move_queue_call(
            call_to_row(ended), call.revision, call_to_row(moved)
        )
        if rows is None:
            raise QueueError(f"call {call.id} changed while overflowing")
        old = self._absorb(rows[0]) or call_from_row(rows[0])
        return Overflowed(old, action, self._absorb_new(rows[1]))

    async def _change(self, id: int, event: CallEvent, now: float, **changes: Any) -> QueueCall:
        refreshed = False
        for _ in range(_ATTEMPTS):
            call = await self._current(id)
            try:
                new = call.apply(event, now, **changes)
            except InvalidTransition:
                if refreshed:
                    raise
                refreshed = True  # memory may not have heard of a change yet: read the row
                await self._refresh(id)
                continue
            row = await self._store.update_queue_call(call_to_row(new), call.revision)
            if row is None:  # changed meanwhile: read it again and retry from there
                await self._refresh(id)
                continue
            result = self._absorb(row) or call_from_row(row)
            if call.operator is not None and result.state not in HELD_STATES:
                await self._release(call.operator, call.queue, now)
            return result
        raise QueueError(f"call {id} kept changing")

    async def _release(self, login: str, queue: str, now: float) -> None:
        """The operator's call left them: wrap-up, then available."""
        wrap_up = self.config(queue).wrap_up_seconds
        for _ in range(_ATTEMPTS):
            position = self._positions.get(login)
            if position is None or position.state is not PositionState.BUSY:
                # Memory may not have heard of the take yet: ask the database.
                position = await self._refresh_operator(login)
                if position is None or position.state is not PositionState.BUSY:
                    return
            if any(c.operator == login and c.state in HELD_STATES for c in self._calls.values()):
                return  # still has a call
            new = position.apply(PositionEvent.RELEASE, now, wrap_up=wrap_up)
            row = await self._store.update_position(position_change(position, new))
            if row is not None:
                self._absorb_operator(row)
                return
            await self._refresh_operator(login)

    async def _current(self, id: int) -> QueueCall:
        call = self._calls.get(id)
        if call is not None:
            return call
        call = await self._refresh(id)
        if call is None:
            raise UnknownQueueCall(id)
        return call

    async def _refresh(self, id: int) -> QueueCall | None:
        row = await self._store.get_queue_call(id)
        if row is None:
            self._mirror.forget_call(id)
            self._declined.pop(id, None)
            return None
        return self._absorb(row) or call_from_row(row)

    async def _operator(self, login: str) -> Position:
        position = self._positions.get(login)
        if position is None:
            position = await self._refresh_operator(login)
        if position is None:
            raise UnknownOperator(login)
        return position

    async def _refresh_operator(self, login: str) -> Position | None:
        row = await self._store.get_operator(login)
        if row is None:
            if self._mirror.remove_position(login):
                self._emit(position_removed(login))
            return None
        return self._absorb_operator(row)

    # -- memory --------------------------------------------------------------------------

    def _absorb_new(self, row: QueueCallRow) -> QueueCall:
        return self._absorb(row) or call_from_row(row)

    def _absorb(self, row: QueueCallRow, *, quiet: bool = False) -> QueueCall | None:
        """Apply a row read or written; None if memory already had it (or something newer).
        Unless `quiet`, tell the subscribers and, for a call this node holds, the callbacks."""
        call = self._mirror.apply_call(row)
        if call is None:
            return None
        if not call.live:
            self._declined.pop(call.id, None)
        if not quiet:
            self._emit(call_event(call))
            if call.node == self.node:
                self._held_changed(call)
        return call

    def _absorb_operator(self, row: OperatorRow, *, quiet: bool = False) -> Position:
        position = self._mirror.apply_position(row)
        if position is None:
            return self._positions[row.login]
        if not quiet:
            self._emit(position_event(position))
        return position

    def _held_changed(self, call: QueueCall) -> None:
        for callback in self._event_callbacks:
            self._hooks.schedule(callback, call)
        if call.event is CallEvent.TAKE and call.state is CallState.WITH_OPERATOR:
            for take_callback in self._take_callbacks:
                self._hooks.schedule(self._call_take, take_callback, call)

    async def _call_take(self, callback: TakeCallback, call: QueueCall) -> None:
        assert call.operator is not None
        position = await self._operator(call.operator)
        result = callback(call, position)
        if inspect.isawaitable(result):
            await result

    def _emit(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            subscription.push(event)

    # -- notifications -------------------------------------------------------------------

    async def _notified(self, payload: str) -> None:
        if self._closed:
            return
        kind, _, rest = payload.partition(":")
        key, _, revision_text = rest.rpartition(":")
        if not key:  # no revision in the payload
            key, revision_text = rest, ""
        revision = int(revision_text) if revision_text.isdigit() else None
        if kind == "call":
            id = int(key)
            if revision is None or self._mirror.call_revision(id) < revision:
                await self._refresh(id)
        elif kind == "operator":
            if revision is None or self._mirror.position_revision(key) < revision:
                await self._refresh_operator(key)
        elif kind == "config":
            row = await self._store.get_queue_config(key)
            if row is not None:
                self._mirror.apply_config(row)
            else:
                self._mirror.remove_config(key, revision)

    async def _resync(self) -> None:
        """After a lost connection: read everything again; what changed meanwhile is applied
        (and acted on) as if notified, then subscribers get a snapshot."""
        if not self._closed:
            await self._load(initial=False)

    async def _load(self, *, initial: bool) -> None:
        rows = await self._store.list_queue_calls(live=True, limit=100_000)
        seen = {row.id for row in rows}
        for row in rows:
            self._absorb(row, quiet=initial)
        for id in [id for id in self._calls if id not in seen]:
            await self._refresh(id)  # ended meanwhile
        operators = await self._store.list_operators()
        logins = {row.login for row in operators}
        for operator_row in operators:
            self._absorb_operator(operator_row, quiet=initial)
        for login in [login for login in self._positions if login not in logins]:
            self._mirror.remove_position(login)
            self._emit(position_removed(login))
        self._mirror.replace_configs(await self._store.list_queue_configs())
        for subscription in list(self._subscriptions):
            subscription.resync()

    # -- plumbing ------------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else now

    async def _tick_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.tick()
            except Exception:
                log.exception("queue tick failed")


def _overflow_note(action: OverflowAction) -> str:
    if action.queue is not None:
        return f"{action.why}; moved to queue {action.queue}"
    return f"{action.why}; answered {action.status}"


@contextlib.contextmanager
def _logged(what: str, which: object) -> Iterator[None]:
    """Log a step of the tick that could not be done (it is tried again at the next)."""
    try:
        yield
    except QueueError as exc:
        log.info("could not %s %s: %s", what, which, exc)
