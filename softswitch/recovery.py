"""The queued calls a previous run of this node left behind (a crash, a kill -9).

While a node holds a caller's INVITE for the operator queue, the INVITE, where its responses
go and our To tag are written down (`HeldInviteKeeper`, table `held_invites`). At start,
`QueueRecovery` answers every INVITE a previous run held, so no caller is left on "queued":

- still waiting for an operator (or the operator's phone was still ringing): held again, on a
  new server transaction for the stored INVITE (so a CANCEL with the caller's branch finds
  it), with the 182 sent again under the same To tag; the call stays in the queue;
- answered (talking to an operator, or connected onward): the node can no longer carry the
  call's signaling, so the caller's dialog is ended with a BYE, and so are the other legs that
  were up (the operator's, or the destination's), whose dialogs were written down with it;
- anything else that still waits for an answer: a final response, resent until the ACK.

Each entry that cannot go on ends failed with a call record; an entry whose INVITE was never
written down cannot be answered at all, and is only marked failed.

A node also stands in for the nodes it ran as before, when they no longer run
(`take_over_held_calls`): run alone after `--workers N`, it answers the callers its workers
held; worker 1 answers those of the node run alone and of workers above N; and any node, those
of the nodes its `take_over` setting names (a machine that took over another's address).
Otherwise their callers would stay in the queue with nobody to answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from .dialog import Dialog, HeldCall, QueueLegs
from .queue import CallState, QueueCall, QueueError, QueueService
from .queue.rows import call_from_row
from .sip import ParseError, Request, SipError, SipURI, parse_message
from .store import CallRecord, Disposition, HeldInvite, HeldInviteRow, HeldLeg, Store
from .switchboard import Switchboard
from .transport import Peer

__all__ = [
    "LOST_REASON",
    "LOST_STATUS",
    "HeldInviteKeeper",
    "QueueRecovery",
    "Recovered",
    "replaced_nodes",
    "take_over_held_calls",
]

log = logging.getLogger(__name__)

# What a caller hears when its call cannot be picked up again: "temporarily unavailable", in
# words a person reads on the phone's display.
LOST_STATUS = 480
LOST_REASON = "Call lost by the exchange, please call again"
LOST_NOTE = "the switchboard restarted; the caller's call was lost"
BYE_REASON = f'SIP;cause={LOST_STATUS};text="{LOST_REASON}"'  # RFC 3326
# Entries in these states wait for an operator, or for an operator's phone that was ringing.
_HOLD_AGAIN = frozenset({CallState.WAITING, CallState.OFFERED, CallState.WITH_OPERATOR})
# What a written-down leg keeps of its dialog besides the route set (RFC 3261 §12).
_DIALOG_IDENTITY = (
    "call_id",
    "local_tag",
    "remote_tag",
    "local_uri",
    "remote_uri",
    "remote_target",
)
# How long `close` waits for the writes still queued.
DRAIN_TIMEOUT = 5.0


def replaced_nodes(
    node: str, worker: tuple[int, int] | None = None, named: Collection[str] = ()
) -> Callable[[str], bool]:
    """Which other nodes `node` stands in for: run alone, its workers (`<node>-<i>`); as
    worker `index` of `count` (`worker`), for worker 1 only, the node run alone and the
    workers above `count`; for the others, none. Besides, the nodes `named` (the `take_over`
    setting; for worker 1 only)."""
    if worker is not None and worker[0] != 1:
        return lambda other: False
    named = frozenset(named)
    if worker is None:
        prefix = f"{node}-"
        return lambda other: (
            other in named or (other.startswith(prefix) and other[len(prefix) :].isdigit())
        )
    count = worker[1]
    base = node.rsplit("-", 1)[0]

    def retired(other: str) -> bool:
        if other == base or other in named:
            return True
        number = other[len(base) + 1 :] if other.startswith(f"{base}-") else ""
        return number.isdigit() and int(number) > count

    return retired


async def take_over_held_calls(
    store: Store, node: str, replaces: Callable[[str], bool]
) -> dict[str, int]:
    """Move to `node` the held callers of the nodes it `replaces` that are not running, before
    its recovery answers them; {node: callers moved}. A node still running keeps its own."""
    moved: dict[str, int] = {}
    for other in await store.holding_nodes():
        if other == node or not replaces(other):
            continue
        count = await store.hand_over_held_calls(other, node)
        if count is None:
            log.info("node %s is running: its queued calls stay with it", other)
            continue
        moved[other] = count
        log.warning("taking over the queued calls of node %s, which is not running", other)
    return moved


class HeldInviteKeeper:
    """Writes held INVITEs down (a `HeldCallKeeper`), in the order the calls change, in a
    task of its own: the signaling path never waits for the database."""

    def __init__(self, store: Store, node: str) -> None:
        self._store = store
        self._node = node
        self._writes: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    def held(self, call: HeldCall) -> None:
        peer = call.server_tx.peer
        row = HeldInviteRow(
            node=self._node,
            call_id=call.call_id,
            invite=call.invite.to_bytes(),
            transport=peer.transport,
            host=peer.host,
            port=peer.port,
            local_port=peer.local_port,
            to_tag=call.local_tag,
        )
        self._write(lambda: self._store.keep_held_invite(row))

    def answered(self, call: HeldCall) -> None:
        node, call_id, now = self._node, call.call_id, time.time()
        self._write(lambda: self._store.mark_held_invite_answered(node, call_id, now))

    def legs_changed(self, call: HeldCall) -> None:
        node, call_id = self._node, call.call_id
        legs = [
            HeldLeg(
                role=role,
                transport=transport,
                route_set=tuple(dialog.route_set),
                **{name: getattr(dialog, name) for name in _DIALOG_IDENTITY},
            )
            for role, dialog, transport in call.other_legs()
        ]
        self._write(lambda: self._store.keep_held_legs(node, call_id, legs))

    def released(self, call: HeldCall) -> None:
        node, call_ids = self._node, [call.call_id]
        self._write(lambda: self._store.drop_held_invites(node, call_ids))

    async def close(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Wait for the writes queued so far (a stopping node's last answers), then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._writes.join(), timeout)
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _write(self, write: Callable[[], Awaitable[None]]) -> None:
        self._writes.put_nowait(write)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name=f"softswitch-held-invites-{self._node}"
            )

    async def _run(self) -> None:
        while True:
            write = await self._writes.get()
            try:
                await write()
            except Exception as err:  # the call goes on; only a restart would miss the row
                log.warning("held INVITE not written down: %s", err)
            finally:
                self._writes.task_done()


@dataclass(slots=True)
class Recovered:
    """What became of the calls a previous run held (SIP Call-IDs)."""

    held_again: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)  # a final response
    ended: list[str] = field(default_factory=list)  # a BYE
    unanswerable: list[str] = field(default_factory=list)  # no INVITE to answer

    def __len__(self) -> int:
        return len(self.held_again) + len(self.answered) + len(self.ended) + len(self.unanswerable)


class QueueRecovery:
    """Answers, once at start, the INVITEs a previous run of `node` held (see the module)."""

    def __init__(
        self,
        store: Store,
        node: str,
        legs: QueueLegs,
        switchboard: Switchboard,
        queue_service: QueueService,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._node = node
        self._legs = legs
        self._switchboard = switchboard
        self._queue = queue_service
        self._clock = clock

    async def run(self) -> Recovered:
        result = Recovered()
        done: list[str] = []
        for stored in await self._store.list_held_invites(self._node):
            call_id = stored.held.call_id
            try:
                kept = await self._recover(stored, result)
            except Exception:  # one broken row must not keep the node from starting
                log.exception("queued call %s of a previous run not recovered", call_id)
                kept = False
            if not kept:
                done.append(call_id)
        if done:
            await self._store.drop_held_invites(self._node, done)
        # entries whose INVITE was never written down: nobody can answer their caller
        for call in await self._queue.fail_orphans(set(result.held_again), note=LOST_NOTE):
            result.unanswerable.append(call.call_id)
            self._record(call, "failed", note=f"{LOST_NOTE} (no stored INVITE to answer)")
        if len(result):
            log.warning(
                "queued calls of a previous run: %d held again, %d answered %d, %d ended "
                "with a BYE, %d could not be answered",
                len(result.held_again),
                len(result.answered),
                LOST_STATUS,
                len(result.ended),
                len(result.unanswerable),
            )
        return result

    async def _recover(self, stored: HeldInvite, result: Recovered) -> bool:
        """Answer one held INVITE; True when the call is held again (its row stays)."""
        row = stored.held
        entry = self._queue.get(stored.entry.id) if stored.entry is not None else None
        try:
            invite = parse_message(row.invite)
            if not isinstance(invite, Request) or invite.method != "INVITE":
                raise ParseError("not an INVITE")
        except SipError as err:
            log.warning("stored INVITE of %s unreadable: %s", row.call_id, err)
            result.unanswerable.append(row.call_id)
            await self._fail(entry, note=f"{LOST_NOTE} (stored INVITE unreadable)")
            return False
        peer = Peer(row.transport, row.host, row.port, None, row.local_port)

        if row.answered_at is not None:
            # a confirmed dialog whose other legs died with the old process
            if not self._legs.bye_lost(invite, row.to_tag, BYE_REASON):
                log.warning("no next hop for the BYE of queued call %s", row.call_id)
            for leg in row.legs:
                if not self._legs.bye_lost_leg(_dialog(leg), leg.transport, BYE_REASON):
                    log.warning("no next hop for the BYE of the %s of %s", leg.role, row.call_id)
            result.ended.append(row.call_id)
            await self._fail(entry)
            last = stored.entry
            if last is not None:
                connected = last.connected_at is not None
                self._record(
                    entry or call_from_row(last),
                    "connected by operator" if connected else "answered",
                    status=200,
                    answered_at=row.answered_at,
                    ended_by="switchboard",
                    note=f"{LOST_NOTE}; ended with a BYE"
                    + (
                        f", connected to {last.connect_to}" if connected and last.connect_to else ""
                    ),
                )
            return False

        if entry is not None and entry.state in _HOLD_AGAIN:
            try:
                held = self._legs.adopt(invite, peer, row.to_tag)
            except ValueError as err:  # the caller sent its INVITE again, and it was taken
                log.info("queued call %s not held again: %s", row.call_id, err)
                return False
            self._switchboard.readopt(held, entry)
            result.held_again.append(row.call_id)
            if entry.state is CallState.WITH_OPERATOR:
                # the operator's phone rang from the old process: the call waits again
                with contextlib.suppress(QueueError):
                    await self._queue.mark_returned(
                        entry.id, note="the operator's phone was lost in a restart"
                    )
            return True

        # still waiting for a final response, but not in a queue any more (or never put in)
        self._legs.answer_lost(invite, peer, row.to_tag, LOST_STATUS, LOST_REASON)
        result.answered.append(row.call_id)
        await self._fail(entry)
        if entry is not None:
            call = entry
        elif stored.entry is not None:  # ended meanwhile (by another node), caller not told
            call = call_from_row(stored.entry)
        else:  # held, but the queue entry was never written
            call = _from_invite(invite, row)
        self._record(call, "failed", status=LOST_STATUS, reason=LOST_REASON)
        return False

    async def _fail(self, entry: QueueCall | None, note: str = LOST_NOTE) -> None:
        if entry is None:
            return
        try:
            await self._queue.mark_failed(entry.id, note=note)
        except QueueError as err:
            log.info("queue entry %d not marked failed: %s", entry.id, err)

    def _record(
        self,
        call: QueueCall,
        disposition: Disposition,
        *,
        status: int | None = None,
        reason: str | None = None,
        answered_at: float | None = None,
        ended_by: str | None = None,
        note: str = LOST_NOTE,
    ) -> None:
        now = self._clock()
        waited_until = call.taken_at if answered_at is not None and call.taken_at else now
        record = CallRecord(
            call_id=call.call_id,
            caller=call.caller,
            dialed=call.dialed,
            number=call.line or call.dialed,
            route=f"queue {call.queue}",
            started_at=call.enqueued_at,
            disposition=disposition,
            node=self._node,
            answered_at=answered_at,
            ended_at=now,
            status=status,
            reason=reason,
            note=note,
            ended_by=ended_by,
            queue_wait_seconds=max(0.0, waited_until - call.enqueued_at),
        )
        try:
            self._store.record_cdr(record)
        except Exception:  # a record must not stop the recovery
            log.exception("call record of %s not written", call.call_id)


def _from_invite(invite: Request, row: HeldInviteRow) -> QueueCall:
    """What the INVITE says of a call whose queue entry was never written."""
    caller = invite.from_addr.uri
    dialed = invite.request_uri
    return QueueCall(
        id=0,
        queue="-",
        caller=(caller.user if isinstance(caller, SipURI) else None) or str(caller),
        dialed=(dialed.user if isinstance(dialed, SipURI) else None) or str(dialed),
        node=row.node,
        call_id=row.call_id,
        enqueued_at=row.held_at,
    )


def _dialog(leg: HeldLeg) -> Dialog:
    """The dialog of a leg written down by a previous run (its CSeq is set by the BYE)."""
    identity = {name: getattr(leg, name) for name in _DIALOG_IDENTITY}
    return Dialog(route_set=list(leg.route_set), local_cseq=0, remote_cseq=0, **identity)
