"""A caller held for an operator (`HeldCall`), the state it is in, and what the operator queue's
B2BUA (`QueueLegs`) tells the queue about it and keeps written down for a restart."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Protocol

from ..sip import Request, Response
from ..transaction import ClientTransaction, ServerTransaction, branch
from ..transport import Peer
from .dialog import Dialog
from .relay import Relay

__all__ = ["GivenUp", "HeldCall", "HeldCallKeeper", "HeldState", "QueueLegEvents"]


class HeldState(Enum):
    WAITING = "waiting"  # 182 sent, INVITE held
    RINGING_OPERATOR = "ringing operator"
    BRIDGED = "bridged"  # caller and operator talk
    CONNECTING = "connecting"  # the destination is being called (third-party call control)
    CONNECTED = "connected"  # caller and destination talk; the operator has left
    ENDED = "ended"


class QueueLegEvents(Protocol):
    """What the queue service hears from the SIP side."""

    def abandoned(self, call: HeldCall) -> None: ...
    def operator_answered(self, call: HeldCall) -> None: ...
    def operator_failed(self, call: HeldCall, status: int) -> None: ...
    def connected(self, call: HeldCall) -> None: ...
    def connect_failed(self, call: HeldCall, status: int) -> None: ...
    def transfer_requested(self, call: HeldCall, target: str) -> str | None:
        """The operator's phone asked to connect the caller to `target` (REFER); None when the
        connect has started, else why not."""

    def ended(self, call: HeldCall, by: str) -> None: ...


class HeldCallKeeper(Protocol):
    """Where held INVITEs are written down, so a node that restarts can still answer them."""

    def held(self, call: HeldCall) -> None: ...
    def answered(self, call: HeldCall) -> None: ...
    def legs_changed(self, call: HeldCall) -> None: ...
    def released(self, call: HeldCall) -> None: ...


class HeldCall:
    """One caller held for an operator, and, once taken, the operator's leg."""

    __slots__ = (
        "caller_ack",
        "caller_dialog",
        "caller_sdp",
        "connect_role",
        "dest_ack",
        "dest_dialog",
        "dest_invite",
        "dest_peer",
        "dest_timer",
        "dest_tx",
        "id",
        "invite",
        "local_tag",
        "ok",
        "ok_timer",
        "operator_dialog",
        "operator_invite",
        "operator_peer",
        "operator_tx",
        "provisional",
        "provisional_at",
        "refer_pending",
        "reinvite",
        "reinvite_tx",
        "relay",
        "server_tx",
        "state",
    )

    def __init__(
        self, id: int, invite: Request, server_tx: ServerTransaction, local_tag: str | None = None
    ) -> None:
        self.id = id
        self.invite = invite
        self.server_tx = server_tx
        self.local_tag = local_tag or branch()[7:]
        self.provisional: Response | None = None  # the 182, sent again every minute
        self.provisional_at = 0.0  # loop time it was last sent
        self.state = HeldState.WAITING
        self.caller_dialog: Dialog | None = None
        self.operator_invite: Request | None = None
        self.operator_tx: ClientTransaction | None = None
        self.operator_dialog: Dialog | None = None
        self.operator_peer: Peer | None = None
        self.ok: Response | None = None
        self.ok_timer: asyncio.TimerHandle | None = None
        self.dest_invite: Request | None = None
        self.dest_tx: ClientTransaction | None = None
        self.dest_dialog: Dialog | None = None
        self.dest_peer: Peer | None = None
        self.dest_ack: Request | None = None
        self.dest_timer: asyncio.TimerHandle | None = None  # no response from the destination
        self.reinvite: Request | None = None
        self.reinvite_tx: ClientTransaction | None = None
        self.caller_ack: Request | None = None
        self.relay: Relay | None = None  # a re-INVITE or UPDATE carried between the legs
        self.refer_pending = False
        self.caller_sdp = b""  # the session description the caller last got from us
        self.connect_role = "destination"  # or "operator": a returned caller taken again

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    def other_legs(self) -> list[tuple[str, Dialog, str]]:
        """The legs besides the caller's that are up now, as (role, dialog, transport): the
        operator's while the operator talks to the caller, the destination's once connected."""
        legs = []
        state = self.state
        if self.operator_dialog is not None and state in (HeldState.BRIDGED, HeldState.CONNECTING):
            transport = self.operator_peer.transport if self.operator_peer is not None else "udp"
            legs.append(("operator", self.operator_dialog, transport))
        if self.dest_dialog is not None and state is HeldState.CONNECTED:
            transport = self.dest_peer.transport if self.dest_peer is not None else "udp"
            legs.append(("destination", self.dest_dialog, transport))
        return legs


class GivenUp:
    """A connect INVITE given up on before any response came (a silent trunk), until its
    transaction ends: should the destination wake up after all, it is cancelled, or hung up
    if it answers."""

    __slots__ = ("cancelled", "dialog", "invite", "peer")

    def __init__(self, invite: Request, peer: Peer) -> None:
        self.invite = invite
        self.peer = peer
        self.cancelled = False
        self.dialog: Dialog | None = None
