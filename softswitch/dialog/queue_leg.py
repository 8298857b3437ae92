"""The SIP side of the operator queue: a signaling B2BUA (RFC 3261 §12, §13).

A caller whose call goes to an operator queue is answered `182 Queued` and its INVITE is held.
When an operator takes the call, the softswitch calls the operator's phone with the caller's
SDP and, when the operator answers, answers the caller with the operator's SDP: the two phones
then send media to each other, never through the softswitch. A BYE on either leg ends both.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from enum import Enum
from typing import Protocol

from ..sip import Request, Response, SipURI, make_response, reason_phrase
from ..transaction import (
    ClientTransaction,
    Output,
    ResponseReceived,
    ServerTransaction,
    Timeout,
    TransportFailed,
    branch,
)
from ..transport import Peer, format_host
from ..transport.endpoint import SipEndpoint
from .dialog import Dialog

log = logging.getLogger(__name__)

NextHop = Callable[[SipURI], "Peer | None"]
T1, T2 = 0.5, 4.0


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
        "refer_pending",
        "reinvite",
        "reinvite_tx",
        "server_tx",
        "state",
    )

    def __init__(self, id: int, invite: Request, server_tx: ServerTransaction) -> None:
        self.id = id
        self.invite = invite
        self.server_tx = server_tx
        self.local_tag = branch()[7:]
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
        self.reinvite: Request | None = None
        self.reinvite_tx: ClientTransaction | None = None
        self.caller_ack: Request | None = None
        self.refer_pending = False
        self.caller_sdp = b""  # the session description the caller last got from us
        self.connect_role = "destination"  # or "operator": a returned caller taken again

    @property
    def call_id(self) -> str:
        return self.invite.call_id


class QueueLegs:
    def __init__(
        self,
        endpoint: SipEndpoint,
        host: str,
        port: int,
        next_hop: NextHop,
        events: QueueLegEvents | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.next_hop = next_hop
        self.events: QueueLegEvents = events  # type: ignore[assignment]  # set before use
        self._ids = itertools.count(1)
        self._held: dict[int, HeldCall] = {}
        self._by_server_tx: dict[ServerTransaction, HeldCall] = {}
        self._by_client_tx: dict[ClientTransaction, HeldCall] = {}
        self._by_dialog: dict[tuple[str, str, str], tuple[HeldCall, str]] = {}

    def held(self, id: int) -> HeldCall | None:
        return self._held.get(id)

    # -- the caller's leg --------------------------------------------------------------------

    def hold(self, request: Request, tx: ServerTransaction, reason: str = "Queued") -> HeldCall:
        """Answer `182 Queued` and keep the INVITE pending (§21.1.4)."""
        call = HeldCall(next(self._ids), request, tx)
        self._held[call.id] = call
        self._by_server_tx[tx] = call
        self.endpoint.respond(
            tx,
            make_response(
                request, 182, reason, to_tag=call.local_tag, headers=[self._contact(call)]
            ),
        )
        return call

    def cancel(self, invite_tx: ServerTransaction) -> bool:
        """A CANCEL for a held INVITE: 487, and the queue hears it was abandoned."""
        call = self._by_server_tx.get(invite_tx)
        if call is None or call.state is HeldState.BRIDGED or call.state is HeldState.ENDED:
            return False
        if call.operator_tx is not None and call.operator_invite is not None:
            self._cancel_operator(call)
        self.endpoint.respond(
            call.server_tx, make_response(call.invite, 487, to_tag=call.local_tag)
        )
        self._end(call)
        self.events.abandoned(call)
        return True

    def reject(
        self,
        call: HeldCall,
        status: int,
        reason: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        """Give a held caller a final answer (overflow, the node stopping)."""
        if call.state is HeldState.WAITING or call.state is HeldState.RINGING_OPERATOR:
            if call.operator_tx is not None:
                self._cancel_operator(call)
            response = make_response(
                call.invite, status, reason, to_tag=call.local_tag, headers=headers or []
            )
            self.endpoint.respond(call.server_tx, response)
            self._end(call)

    def shutdown(self, retry_after: int = 30) -> int:
        """The node is stopping: every caller still waiting gets a final answer now rather
        than silence (503 with Retry-After); calls already answered keep their media."""
        waiting = [
            call
            for call in self._held.values()
            if call.state in (HeldState.WAITING, HeldState.RINGING_OPERATOR)
            and call.caller_dialog is None
        ]
        for call in waiting:
            self.reject(call, 503, "Switchboard restarting", [("Retry-After", str(retry_after))])
        return len(waiting)

    # -- the operator's leg ------------------------------------------------------------------

    def ring_operator(self, call: HeldCall, contact: str, peer: Peer, display: str) -> None:
        """Call the operator's phone with the caller's SDP; `display` shows who waits."""
        invite = Request("INVITE", contact)
        transport = peer.transport
        invite.add_header("Via", self._via(transport))
        invite.add_header("Max-Forwards", "70")
        safe = display.replace('"', "'")
        invite.add_header("From", f'"{safe}" <sip:queue@{self._host_port()}>;tag={branch()[7:]}')
        invite.add_header("To", f"<{contact}>")
        invite.add_header("Call-ID", f"op-{branch()[7:]}@{self.host}")
        invite.add_header("CSeq", "1 INVITE")
        invite.add_header(*self._contact(call, transport))
        content_type = call.invite.header("content-type")
        if content_type is not None:
            invite.add_header("Content-Type", content_type)
        invite.body = call.invite.body
        call.operator_invite = invite
        call.operator_peer = peer
        call.state = HeldState.RINGING_OPERATOR
        tx = self.endpoint.send_request(invite, peer)
        call.operator_tx = tx
        self._by_client_tx[tx] = call

    def _cancel_operator(self, call: HeldCall) -> None:
        from ..transaction import build_cancel

        assert call.operator_invite is not None and call.operator_peer is not None
        self.endpoint.send_request(build_cancel(call.operator_invite), call.operator_peer)

    # -- events from the endpoint ------------------------------------------------------------

    def handle_event(self, output: Output) -> bool:
        """Responses and timeouts of our operator legs; True when the output was ours."""
        tx = getattr(output, "tx", None)
        call = self._by_client_tx.get(tx) if tx is not None else None  # type: ignore[arg-type]
        if call is None:
            return False
        failed = type(output) in (Timeout, TransportFailed)
        if tx is call.operator_tx:
            if type(output) is ResponseReceived:
                self._operator_response(call, output.response)  # type: ignore[union-attr]
            elif failed and call.state is HeldState.RINGING_OPERATOR:
                self._operator_failed(call, 408)
        elif tx is call.dest_tx:
            if type(output) is ResponseReceived:
                self._destination_response(call, output.response)  # type: ignore[union-attr]
            elif failed and call.state is HeldState.CONNECTING:
                self._connect_failed(call, 408)
        elif tx is call.reinvite_tx:
            if type(output) is ResponseReceived:
                self._caller_reinvite_response(call, output.response)  # type: ignore[union-attr]
            elif failed and call.state is HeldState.CONNECTING:
                self._connect_failed(call, 408)
        return True

    def _operator_response(self, call: HeldCall, response: Response) -> None:
        status = response.status
        if status < 200 or call.operator_invite is None:
            return
        if status >= 300:
            if call.state is HeldState.RINGING_OPERATOR:
                self._operator_failed(call, status)
            return
        # a 2xx (first or retransmitted): ACK it on the operator's dialog (§13.2.2.4)
        if call.operator_dialog is None:
            call.operator_dialog = Dialog.as_uac(call.operator_invite, response)
            self._by_dialog[call.operator_dialog.key] = (call, "operator")
        ack = call.operator_dialog.request("ACK", self._via(self._transport(call)))
        ack.set_header("CSeq", f"{call.operator_invite.cseq.number} ACK")
        self._send_in_dialog(call.operator_dialog, ack)
        if call.state is HeldState.ENDED:
            self._bye(call.operator_dialog, call)  # the caller left while it rang
            return
        if call.state is not HeldState.RINGING_OPERATOR:
            return  # a retransmitted 2xx
        # answer the caller with the operator's SDP
        call.state = HeldState.BRIDGED
        headers = [self._contact(call)]
        content_type = response.header("content-type")
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        ok = make_response(
            call.invite, 200, to_tag=call.local_tag, headers=headers, body=response.body
        )
        for route in call.invite.header_values("record-route"):
            ok.add_header("Record-Route", route)
        call.ok = ok
        call.caller_sdp = response.body
        call.caller_dialog = Dialog.as_uas(call.invite, call.local_tag)
        self._by_dialog[call.caller_dialog.key] = (call, "caller")
        self.endpoint.respond(call.server_tx, ok)
        self._retransmit_ok(call, T1)
        self.events.operator_answered(call)

    def _operator_failed(self, call: HeldCall, status: int) -> None:
        """The operator did not answer: the caller waits on (back to the queue)."""
        if call.operator_tx is not None:
            self._by_client_tx.pop(call.operator_tx, None)
        call.operator_tx = None
        call.operator_invite = None
        call.state = HeldState.WAITING
        self.events.operator_failed(call, status)

    def _retransmit_ok(self, call: HeldCall, interval: float) -> None:
        """§13.3.1.4: the UAS core resends its 2xx until the ACK comes, T1 doubling to T2."""
        if interval > 64 * T1 or call.ok is None:
            return
        loop = asyncio.get_running_loop()
        call.ok_timer = loop.call_later(interval, self._resend_ok, call, interval)

    def _resend_ok(self, call: HeldCall, interval: float) -> None:
        if call.ok is None or call.server_tx.terminated:
            return
        self.endpoint.respond(call.server_tx, call.ok)
        self._retransmit_ok(call, min(interval * 2, T2))

    # -- in-dialog requests ------------------------------------------------------------------

    def handle_request(self, request: Request, tx: ServerTransaction) -> bool:
        """A request in one of our dialogs; True when it was ours."""
        key = (request.call_id, request.to_addr.tag or "", request.from_addr.tag or "")
        entry = self._by_dialog.get(key)
        if entry is None:
            return False
        call, side = entry
        if request.method == "BYE":
            self.endpoint.respond(tx, make_response(request, 200))
            if call.state is HeldState.ENDED:
                return True
            if call.state is HeldState.CONNECTING and call.dest_dialog is None:
                self._cancel_destination(call)
            legs = {
                "caller": call.caller_dialog,
                "operator": call.operator_dialog if call.state is not HeldState.CONNECTED else None,
                "destination": call.dest_dialog,
            }
            for name, dialog in legs.items():
                if name != side and dialog is not None:
                    self._bye(dialog, call)
            self._end(call)
            self.events.ended(call, side)
        elif request.method == "REFER" and side == "operator":
            self._refer(call, request, tx)
        else:
            # re-INVITEs and the rest are not relayed yet between the two legs
            self.endpoint.respond(
                tx, make_response(request, 488 if request.method == "INVITE" else 501)
            )
        return True

    def handle_ack(self, request: Request) -> bool:
        key = (request.call_id, request.to_addr.tag or "", request.from_addr.tag or "")
        entry = self._by_dialog.get(key)
        if entry is None:
            return False
        call, _ = entry
        call.ok = None  # the caller has our 200: stop resending it
        if call.ok_timer is not None:
            call.ok_timer.cancel()
        return True

    def _bye(self, dialog: Dialog, call: HeldCall) -> None:
        bye = dialog.request("BYE", self._via(self._transport(call)))
        self._send_in_dialog(dialog, bye, stateful=True)

    def _send_in_dialog(
        self, dialog: Dialog, request: Request, stateful: bool = False
    ) -> ClientTransaction | None:
        hop = dialog.next_hop()
        peer = self.next_hop(hop) if hop is not None else None
        if peer is None:
            log.warning("no next hop for %s in dialog %s", request.method, dialog.call_id)
            return None
        if stateful:
            return self.endpoint.send_request(request, peer)
        self.endpoint.send_stateless(peer, request)
        return None

    # -- the operator's other buttons --------------------------------------------------------

    def send_back(self, call: HeldCall) -> None:
        """Put the caller on hold (RFC 3264 §8.4: `a=inactive`) and release the operator: the
        caller waits in the queue again, already answered."""
        if call.state is not HeldState.BRIDGED or call.caller_dialog is None:
            raise ValueError(f"queued call {call.id} is not with an operator")
        hold = call.caller_dialog.request(
            "INVITE", self._via(call.invite.top_via.transport), contact=self._contact(call)[1]
        )
        hold.add_header("Content-Type", "application/sdp")
        hold.body = call.caller_sdp = on_hold(call.caller_sdp)
        call.reinvite = hold
        call.reinvite_tx = self._send_in_dialog(call.caller_dialog, hold, stateful=True)
        if call.reinvite_tx is not None:
            self._by_client_tx[call.reinvite_tx] = call
        if call.operator_dialog is not None:
            self._by_dialog.pop(call.operator_dialog.key, None)
            self._bye(call.operator_dialog, call)
        call.operator_dialog = call.operator_invite = call.operator_tx = None
        call.state = HeldState.WAITING

    def hang_up(self, call: HeldCall) -> None:
        """The operator ends the call: every leg goes."""
        if (
            call.state in (HeldState.WAITING, HeldState.RINGING_OPERATOR)
            and call.caller_dialog is None
        ):
            self.reject(call, 480, "Call ended by the operator")
            return
        if call.state is HeldState.CONNECTING and call.dest_dialog is None:
            self._cancel_destination(call)
        for dialog in (call.caller_dialog, call.operator_dialog, call.dest_dialog):
            if dialog is not None:
                self._bye(dialog, call)
        self._end(call)

    # -- transfer from the operator's phone (RFC 3515) ----------------------------------------

    def _refer(self, call: HeldCall, request: Request, tx: ServerTransaction) -> None:
        """The operator pressed transfer: connect the caller to the Refer-To target."""
        targets = request.address_list("refer-to")
        if len(targets) != 1:
            self.endpoint.respond(tx, make_response(request, 400, "One Refer-To, please"))
            return
        if call.state is not HeldState.BRIDGED:
            self.endpoint.respond(tx, make_response(request, 491))
            return
        uri = targets[0].uri
        target = uri.user if isinstance(uri, SipURI) and uri.user else str(uri)
        why_not = self.events.transfer_requested(call, target)
        if why_not is not None:
            self.endpoint.respond(tx, make_response(request, 603, why_not))
            return
        self.endpoint.respond(tx, make_response(request, 202))
        call.refer_pending = True
        self._notify_refer(call, "SIP/2.0 100 Trying", final=False)

    def _notify_refer(self, call: HeldCall, status_line: str, *, final: bool) -> None:
        """§3.4.4 of RFC 3515: the progress of the transfer, as a message/sipfrag NOTIFY."""
        if call.operator_dialog is None:
            return
        notify = call.operator_dialog.request(
            "NOTIFY", self._via(self._transport(call)), contact=self._contact(call)[1]
        )
        notify.add_header("Event", "refer")
        state = "terminated;reason=noresource" if final else "active;expires=60"
        notify.add_header("Subscription-State", state)
        notify.add_header("Content-Type", "message/sipfrag;version=2.0")
        notify.body = f"{status_line}\r\n".encode()
        self._send_in_dialog(call.operator_dialog, notify, stateful=True)
        if final:
            call.refer_pending = False

    # -- connect: third-party call control (RFC 3725 §4.2, flow II) ---------------------------

    def connect(
        self,
        call: HeldCall,
        contact: str,
        peer: Peer,
        caller_display: str,
        role: str = "destination",
    ) -> None:
        """Call the destination with no offer; its 200 carries one, which goes to the caller
        in a re-INVITE; the caller's answer goes back in the destination's ACK, and the
        operator's leg is released. The phones then send media to each other.

        With `role="operator"` the same flow brings a caller who was sent back (and so is
        already answered) to an operator who takes the call again."""
        if role == "destination" and call.state is not HeldState.BRIDGED:
            raise ValueError(f"queued call {call.id} is {call.state.value}, not with an operator")
        if role == "operator" and (call.state is not HeldState.WAITING or not call.caller_dialog):
            raise ValueError(f"queued call {call.id} was not sent back")
        call.connect_role = role
        invite = Request("INVITE", contact)
        invite.add_header("Via", self._via(peer.transport))
        invite.add_header("Max-Forwards", "70")
        caller = call.invite.from_addr.uri
        safe = caller_display.replace('"', "'")
        invite.add_header("From", f'"{safe}" <{caller}>;tag={branch()[7:]}')
        invite.add_header("To", f"<{contact}>")
        invite.add_header("Call-ID", f"cx-{branch()[7:]}@{self.host}")
        invite.add_header("CSeq", "1 INVITE")
        invite.add_header(*self._contact(call, peer.transport))
        call.dest_invite, call.dest_peer = invite, peer
        call.dest_dialog = call.dest_ack = None
        call.reinvite = call.reinvite_tx = call.caller_ack = None
        call.state = HeldState.CONNECTING
        call.dest_tx = self.endpoint.send_request(invite, peer)
        self._by_client_tx[call.dest_tx] = call

    def _destination_response(self, call: HeldCall, response: Response) -> None:
        status = response.status
        if status < 200 or call.dest_invite is None:
            return
        if status >= 300:
            if call.state is HeldState.CONNECTING:
                self._connect_failed(call, status)
            return
        if call.dest_dialog is None:
            call.dest_dialog = Dialog.as_uac(call.dest_invite, response)
            self._by_dialog[call.dest_dialog.key] = (call, "destination")
        if call.dest_ack is not None:
            self._send_in_dialog(call.dest_dialog, call.dest_ack)  # a retransmitted 2xx
            return
        if call.state is not HeldState.CONNECTING or call.reinvite_tx is not None:
            if call.state is HeldState.ENDED:
                self._ack_destination(call, call.invite.body, call.invite.header("content-type"))
                self._bye(call.dest_dialog, call)
            return
        # the destination's offer goes to the caller in a re-INVITE (§14.1)
        assert call.caller_dialog is not None
        reinvite = call.caller_dialog.request(
            "INVITE", self._via(call.invite.top_via.transport), contact=self._contact(call)[1]
        )
        content_type = response.header("content-type")
        if content_type is not None:
            reinvite.add_header("Content-Type", content_type)
        reinvite.body = response.body
        call.caller_sdp = response.body
        call.reinvite = reinvite
        call.reinvite_tx = self._send_in_dialog(call.caller_dialog, reinvite, stateful=True)
        if call.reinvite_tx is not None:
            self._by_client_tx[call.reinvite_tx] = call

    def _caller_reinvite_response(self, call: HeldCall, response: Response) -> None:
        status = response.status
        if status < 200 or call.reinvite is None or call.caller_dialog is None:
            return
        if status >= 300:
            # the caller refused the new media: stay with the operator, let the destination go
            if call.state is HeldState.CONNECTING and call.dest_dialog is not None:
                self._ack_destination(call, call.invite.body, call.invite.header("content-type"))
                self._bye(call.dest_dialog, call)
                self._connect_failed(call, status)
            return
        ack = call.caller_dialog.request("ACK", self._via(call.invite.top_via.transport))
        ack.set_header("CSeq", f"{call.reinvite.cseq.number} ACK")
        call.caller_ack = ack
        self._send_in_dialog(call.caller_dialog, ack)
        if call.state is not HeldState.CONNECTING:
            return
        self._ack_destination(call, response.body, response.header("content-type"))
        if call.connect_role == "operator":
            # the new leg is the operator's: the caller is back with a person
            assert call.dest_dialog is not None
            self._by_dialog[call.dest_dialog.key] = (call, "operator")
            call.operator_dialog, call.operator_invite = call.dest_dialog, call.dest_invite
            call.operator_peer, call.operator_tx = call.dest_peer, call.dest_tx
            call.dest_dialog = call.dest_invite = call.dest_tx = None
            call.state = HeldState.BRIDGED
            self.events.operator_answered(call)
            return
        if call.refer_pending:
            self._notify_refer(call, "SIP/2.0 200 OK", final=True)
        if call.operator_dialog is not None:
            self._by_dialog.pop(call.operator_dialog.key, None)
            self._bye(call.operator_dialog, call)
        call.state = HeldState.CONNECTED
        self.events.connected(call)

    def _ack_destination(self, call: HeldCall, body: bytes, content_type: str | None) -> None:
        assert call.dest_dialog is not None and call.dest_invite is not None
        ack = call.dest_dialog.request("ACK", self._via(self._dest_transport(call)))
        ack.set_header("CSeq", f"{call.dest_invite.cseq.number} ACK")
        if content_type is not None:
            ack.add_header("Content-Type", content_type)
        ack.body = body
        call.dest_ack = ack
        self._send_in_dialog(call.dest_dialog, ack)

    def _connect_failed(self, call: HeldCall, status: int) -> None:
        """Busy, no answer, refused: the caller stays with the same operator."""
        if call.dest_tx is not None:
            self._by_client_tx.pop(call.dest_tx, None)
        if call.dest_dialog is not None:
            self._by_dialog.pop(call.dest_dialog.key, None)
        call.dest_tx = call.dest_invite = call.dest_dialog = None
        if call.connect_role == "operator":
            call.state = HeldState.WAITING
            self.events.operator_failed(call, status)
            return
        call.state = HeldState.BRIDGED
        if call.refer_pending:
            self._notify_refer(call, f"SIP/2.0 {status} {reason_phrase(status)}", final=True)
        self.events.connect_failed(call, status)

    def _cancel_destination(self, call: HeldCall) -> None:
        from ..transaction import build_cancel

        if call.dest_invite is not None and call.dest_peer is not None:
            self.endpoint.send_request(build_cancel(call.dest_invite), call.dest_peer)

    def _dest_transport(self, call: HeldCall) -> str:
        return call.dest_peer.transport if call.dest_peer is not None else "udp"

    def _end(self, call: HeldCall) -> None:
        call.state = HeldState.ENDED
        if call.ok_timer is not None:
            call.ok_timer.cancel()
        self._held.pop(call.id, None)
        self._by_server_tx.pop(call.server_tx, None)
        for dialog in (call.caller_dialog, call.operator_dialog, call.dest_dialog):
            if dialog is not None:
                self._by_dialog.pop(dialog.key, None)

    # -- our addresses -----------------------------------------------------------------------

    def _host_port(self) -> str:
        return f"{format_host(self.host)}:{self.port}"

    def _via(self, transport: str) -> str:
        return f"SIP/2.0/{transport.upper()} {self._host_port()};branch={branch()}"

    def _contact(self, call: HeldCall, transport: str | None = None) -> tuple[str, str]:
        """Our Contact on a leg: the caller's transport unless told otherwise."""
        transport = transport or call.invite.top_via.transport.lower()
        return ("Contact", f"<sip:queue-{call.id}@{self._host_port()};transport={transport}>")

    def _transport(self, call: HeldCall) -> str:
        return call.operator_peer.transport if call.operator_peer is not None else "udp"


def on_hold(sdp: bytes) -> bytes:
    """The same session description, one version on, with every stream `inactive`."""
    lines = sdp.decode("utf-8", "replace").splitlines()
    out = []
    for line in lines:
        if line.startswith("o="):
            parts = line.split(" ")
            if len(parts) >= 3 and parts[2].isdigit():
                parts[2] = str(int(parts[2]) + 1)
            line = " ".join(parts)
        elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            continue
        out.append(line)
        if line.startswith("m="):
            out.append("a=inactive")
    return ("\r\n".join(out) + "\r\n").encode()
