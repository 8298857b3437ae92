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
import random
from collections.abc import Callable, Sequence

from ..sip import Request, Response, SipError, SipURI, make_response, reason_phrase
from ..transaction import (
    AckReceived,
    ClientTransaction,
    Output,
    RequestReceived,
    ResponseReceived,
    ServerTransaction,
    Terminated,
    Timeout,
    TransportFailed,
    branch,
    build_cancel,
)
from ..transport import Peer, format_host
from ..transport.endpoint import SipEndpoint
from ..transport.via import response_peer
from .dialog import Dialog
from .held_call import GivenUp, HeldCall, HeldCallKeeper, HeldState, QueueLegEvents
from .relay import Relay
from .sdp import on_hold, refusing_answer

log = logging.getLogger(__name__)

NextHop = Callable[[SipURI], "Peer | None"]
# §13.3.1.1: a UAS holding an INVITE sends a provisional response about every minute, so the
# proxies on the path (Timer C, more than 3 minutes) do not give up on it.
PROVISIONAL_REFRESH = 60.0
# The CSeq of a BYE for a caller's dialog whose count was lost with a previous run: the
# re-INVITEs of a queued call (send back, connect) number a handful, so this is above them.
LOST_DIALOG_CSEQ = 65536


class QueueLegs:
    def __init__(
        self,
        endpoint: SipEndpoint,
        host: str,
        port: int,
        next_hop: NextHop,
        events: QueueLegEvents | None = None,
        *,
        keeper: HeldCallKeeper | None = None,
        refresh_interval: float = PROVISIONAL_REFRESH,
    ) -> None:
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.next_hop = next_hop
        self.events: QueueLegEvents = events  # type: ignore[assignment]  # set before use
        self.keeper = keeper
        self.refresh_interval = refresh_interval
        # one loop timer for the 182 refreshes of every held INVITE
        self._refresh_timer: asyncio.TimerHandle | None = None
        self._ids = itertools.count(1)
        self._held: dict[int, HeldCall] = {}
        self._by_server_tx: dict[ServerTransaction, HeldCall] = {}
        self._by_client_tx: dict[ClientTransaction, HeldCall] = {}
        self._by_dialog: dict[tuple[str, str, str], tuple[HeldCall, str]] = {}
        # transactions of relayed re-INVITEs and UPDATEs (both legs), until they terminate
        self._relayed: dict[ClientTransaction | ServerTransaction, tuple[HeldCall, Relay]] = {}
        self._given_up: dict[ClientTransaction, GivenUp] = {}

    def held(self, id: int) -> HeldCall | None:
        return self._held.get(id)

    # -- the caller's leg --------------------------------------------------------------------

    def hold(
        self,
        request: Request,
        tx: ServerTransaction,
        reason: str = "Queued",
        *,
        local_tag: str | None = None,
    ) -> HeldCall:
        """Answer `182 Queued` and keep the INVITE pending (§21.1.4); the 182 goes again every
        `refresh_interval` seconds while the caller waits (§13.3.1.1)."""
        call = HeldCall(next(self._ids), request, tx, local_tag)
        self._held[call.id] = call
        self._by_server_tx[tx] = call
        call.provisional = make_response(
            request, 182, reason, to_tag=call.local_tag, headers=[self._contact(call)]
        )
        self._send_provisional(call)
        if self._refresh_timer is None:
            self._arm_refresh(call.provisional_at + self.refresh_interval)
        if self.keeper is not None:
            self.keeper.held(call)
        return call

    def adopt(self, invite: Request, peer: Peer, local_tag: str) -> HeldCall:
        """Hold again an INVITE a previous run of this node held: a new server transaction for
        it (a CANCEL with the caller's branch finds it), the 182 again with the same To tag.
        Raises ValueError when a transaction for that INVITE is already running."""
        return self.hold(invite, self._server_transaction(invite, peer), local_tag=local_tag)

    def answer_lost(
        self,
        invite: Request,
        peer: Peer,
        local_tag: str,
        status: int,
        reason: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        """A final response to an INVITE a previous run held and this one cannot: sent on a
        server transaction of its own, so it is resent until the caller's ACK (§17.2.1)."""
        tx = self._server_transaction(invite, peer)
        response = make_response(invite, status, reason, to_tag=local_tag, headers=headers)
        self.endpoint.respond(tx, response)

    def bye_lost_leg(self, dialog: Dialog, transport: str, reason: str | None = None) -> bool:
        """End another leg of a call a previous run had up (the operator's, the destination's):
        a BYE in its dialog with a CSeq above any it used. False when there is no next hop."""
        dialog.local_cseq = LOST_DIALOG_CSEQ
        bye = dialog.request("BYE", self._via(transport))
        if reason is not None:
            bye.add_header("Reason", reason)  # RFC 3326
        return self._send_in_dialog(dialog, bye, stateful=True) is not None

    def bye_lost(self, invite: Request, local_tag: str, reason: str | None = None) -> bool:
        """End a caller's dialog a previous run answered (its other legs are gone): a BYE
        built from the INVITE (§12.1.1), with a CSeq above any the dialog used. False when
        there is no next hop to send it to."""
        dialog = Dialog.as_uas(invite, local_tag)
        dialog.local_cseq = LOST_DIALOG_CSEQ
        bye = dialog.request("BYE", self._via(invite.top_via.transport))
        if reason is not None:
            bye.add_header("Reason", reason)  # RFC 3326
        return self._send_in_dialog(dialog, bye, stateful=True) is not None

    def _server_transaction(self, invite: Request, peer: Peer) -> ServerTransaction:
        """An INVITE server transaction for a request that arrived in a previous run."""
        if peer.reliable:
            # the connection it came on is gone: a new one to the Via's address (§18.2.2)
            peer = response_peer(invite.top_via, Peer(peer.transport, peer.host, peer.port))
        now = asyncio.get_running_loop().time()
        outputs = self.endpoint.table.receive_request(invite, peer, now, reliable=peer.reliable)
        for output in outputs:
            if type(output) is RequestReceived:
                tx = output.tx
                assert isinstance(tx, ServerTransaction)
                return tx
        raise ValueError(f"the INVITE of {invite.call_id} has a transaction already")

    def _send_provisional(self, call: HeldCall) -> None:
        assert call.provisional is not None
        call.provisional_at = asyncio.get_running_loop().time()
        self.endpoint.respond(call.server_tx, call.provisional)

    def _arm_refresh(self, when: float) -> None:
        self._refresh_timer = asyncio.get_running_loop().call_at(when, self._refresh)

    def _refresh(self) -> None:
        """Send the 182 again to each caller whose last one is `refresh_interval` old, and arm
        the one timer for the next that will be."""
        self._refresh_timer = None
        now = asyncio.get_running_loop().time()
        # those due within a moment go now too: fewer wake-ups, none more than a moment early
        slack = min(1.0, self.refresh_interval / 10)
        next_due: float | None = None
        for call in list(self._held.values()):
            if not _pending(call):
                continue
            due = call.provisional_at + self.refresh_interval
            if due <= now + slack:
                self._send_provisional(call)
                due = call.provisional_at + self.refresh_interval
            next_due = due if next_due is None else min(next_due, due)
        if next_due is not None:
            self._arm_refresh(next_due)

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
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
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
        assert call.operator_invite is not None and call.operator_peer is not None
        self.endpoint.send_request(build_cancel(call.operator_invite), call.operator_peer)

    # -- events from the endpoint ------------------------------------------------------------

    def handle_event(self, output: Output) -> bool:
        """Responses and timeouts of our operator legs; True when the output was ours."""
        tx = getattr(output, "tx", None)
        if tx is not None and tx in self._given_up:
            late = self._given_up[tx]
            if type(output) is ResponseReceived:
                if _readable(output.response):  # type: ignore[union-attr]
                    self._late_response(late, output.response)  # type: ignore[union-attr]
            elif type(output) in (Terminated, Timeout, TransportFailed):
                del self._given_up[tx]
            return True
        if tx is None or (tx not in self._relayed and tx not in self._by_client_tx):
            return False
        if type(output) is ResponseReceived and not _readable(output.response):  # type: ignore[union-attr]
            return True  # a response whose From or To we cannot read is dropped, as by a phone
        if tx in self._relayed:
            self._relay_event(output, tx)
            return True
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
                self._stop_dest_timer(call)
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
        if self.keeper is not None:
            self.keeper.answered(call)  # a confirmed dialog now: after a restart it needs a BYE
        self._legs_changed(call)
        self._retransmit_ok(call, self.endpoint.table.timers.t1)
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
        if interval > 64 * self.endpoint.table.timers.t1 or call.ok is None:
            return
        loop = asyncio.get_running_loop()
        call.ok_timer = loop.call_later(interval, self._resend_ok, call, interval)

    def _resend_ok(self, call: HeldCall, interval: float) -> None:
        if call.ok is None or call.server_tx.terminated:
            return
        self.endpoint.respond(call.server_tx, call.ok)
        self._retransmit_ok(call, min(interval * 2, self.endpoint.table.timers.t2))

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
            self._drop_relay(call)
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
        elif request.method in ("INVITE", "UPDATE"):
            self._relay_request(call, side, request, tx)
        else:
            self.endpoint.respond(tx, make_response(request, 501))
        return True

    def handle_ack(self, request: Request) -> bool:
        key = (request.call_id, request.to_addr.tag or "", request.from_addr.tag or "")
        entry = self._by_dialog.get(key)
        if entry is None:
            return False
        call, side = entry
        relay = call.relay
        if (
            relay is not None
            and relay.near_side == side
            and relay.method == "INVITE"
            and request.cseq.number == relay.near_request.cseq.number
        ):
            self._relay_ack(call, relay, request)
            return True
        call.ok = None  # the caller has our 200: stop resending it
        if call.ok_timer is not None:
            call.ok_timer.cancel()
        return True

    # -- re-INVITE and UPDATE across the two legs (RFC 3261 §14, RFC 3311) --------------------

    def _relay_request(
        self, call: HeldCall, side: str, request: Request, tx: ServerTransaction
    ) -> None:
        """A session change on one leg: send it on the other leg, answer with what comes back."""
        near_dialog = self._leg(call, side)[0]
        if near_dialog is None or not near_dialog.receive(request):
            self.endpoint.respond(tx, make_response(request, 500, "CSeq Out of Order"))
            return
        if side != "caller":
            self._legs_changed(call)  # a target refresh: the leg written down follows it
        pending = call.relay
        if pending is not None and pending.near_side == side and pending.near_ok is None:
            # §14.2: a second INVITE before the first one's final response
            wait = str(random.randint(0, 10))
            self.endpoint.respond(tx, make_response(request, 500, headers=[("Retry-After", wait)]))
            return
        if pending is not None or self._own_reinvite_pending(call):
            self.endpoint.respond(tx, make_response(request, 491))  # §14.1: glare
            return
        if call.state in (HeldState.CONNECTING, HeldState.RINGING_OPERATOR):
            # the legs are being re-paired (third-party call control): ask again later
            self.endpoint.respond(tx, make_response(request, 491))
            return
        far_side = self._paired_with(call, side)
        far_dialog, transport = self._leg(call, far_side) if far_side else (None, "udp")
        if far_side is None or far_dialog is None:
            # nobody on the other end (the caller waits on hold): the session stays as it is
            self.endpoint.respond(tx, make_response(request, 488))
            return
        far_request = far_dialog.request(
            request.method, self._via(transport), contact=self._contact(call, transport)[1]
        )
        content_type = request.header("content-type")
        if content_type is not None:
            far_request.add_header("Content-Type", content_type)
        far_request.body = request.body
        loop = asyncio.get_running_loop()
        relay = Relay(side, request, tx, far_side, far_dialog, transport, far_request, loop.time())
        self._relayed[tx] = (call, relay)
        if request.method == "INVITE":
            self.endpoint.respond(tx, make_response(request, 100))
        far_tx = self._send_in_dialog(far_dialog, far_request, stateful=True)
        if far_tx is None:
            self._relayed.pop(tx, None)
            self.endpoint.respond(tx, make_response(request, 500, "Other Leg Unreachable"))
            return
        relay.far_tx = far_tx
        call.relay = relay
        self._relayed[far_tx] = (call, relay)
        if side != "caller" and request.body:
            call.caller_sdp = request.body  # the caller gets this offer

    def _relay_event(self, output: Output, tx: ClientTransaction | ServerTransaction) -> None:
        found = self._relayed.get(tx)
        if found is None:
            return
        call, relay = found
        kind = type(output)
        if kind is Terminated:
            del self._relayed[tx]
        elif kind is ResponseReceived and tx is relay.far_tx:
            self._relay_response(call, relay, output.response)  # type: ignore[union-attr]
        elif kind is AckReceived and tx is relay.near_tx:
            self._relay_ack(call, relay, output.request)  # type: ignore[union-attr]
        elif (
            kind in (Timeout, TransportFailed)
            and tx is relay.far_tx
            and call.relay is relay
            and relay.far_ok is None
        ):
            self._relay_error(call, relay, 408, None)  # the other phone did not answer

    def _relay_response(self, call: HeldCall, relay: Relay, response: Response) -> None:
        status = response.status
        if status < 200:
            return
        if status >= 300:
            if call.relay is relay and relay.near_ok is None:
                self._relay_error(call, relay, status, response)
            return
        if relay.far_ack is not None:  # a retransmitted 2xx: our ACK again
            self._send_in_dialog(relay.far_dialog, relay.far_ack)
            return
        if relay.far_ok is not None:
            return  # answered already; the ACK waits for the near side's
        if call.relay is not relay:
            # the call ended (or moved on) meanwhile: take the 2xx, the near side has its answer
            self._ack_far(relay, b"", None)
            return
        relay.far_dialog.refresh_target(response)
        if relay.far_side != "caller":
            self._legs_changed(call)
        relay.far_ok = response
        near_transport = self._leg(call, relay.near_side)[1]
        headers = [self._contact(call, near_transport)]
        content_type = response.header("content-type")
        if content_type is not None:
            headers.append(("Content-Type", content_type))
        ok = make_response(relay.near_request, 200, headers=headers, body=response.body)
        if relay.near_side == "caller" and response.body:
            call.caller_sdp = response.body
        self.endpoint.respond(relay.near_tx, ok)
        if relay.method != "INVITE":
            call.relay = None  # an UPDATE is done with its response
            return
        relay.near_ok = ok
        self._relay_timer(call, relay, self.endpoint.table.timers.t1)

    def _relay_error(
        self, call: HeldCall, relay: Relay, status: int, response: Response | None
    ) -> None:
        """The far side refused the change (or never answered): so does the near side."""
        headers = []
        if response is not None:
            for name in ("Retry-After", "Warning"):
                value = response.header(name.lower())
                if value is not None:
                    headers.append((name, value))
        reason = response.reason if response is not None else None
        self.endpoint.respond(
            relay.near_tx, make_response(relay.near_request, status, reason, headers=headers)
        )
        if call.relay is relay:
            call.relay = None

    def _relay_ack(self, call: HeldCall, relay: Relay, ack: Request) -> None:
        """The near side has our 2xx: now the far side gets its ACK (with the answer, when
        the offer came in the far 2xx)."""
        if relay.near_ok is None or relay.far_ack is not None:
            return
        if relay.timer is not None:
            relay.timer.cancel()
            relay.timer = None
        if relay.late_offer:
            self._ack_far(relay, ack.body, ack.header("content-type"))
            if relay.far_side == "caller" and ack.body:
                call.caller_sdp = ack.body
        else:
            self._ack_far(relay, b"", None)
        if call.relay is relay:
            call.relay = None

    def _ack_far(self, relay: Relay, body: bytes, content_type: str | None) -> None:
        ack = relay.far_dialog.request("ACK", self._via(relay.far_transport))
        ack.set_header("CSeq", f"{relay.far_request.cseq.number} ACK")
        if content_type is not None:
            ack.add_header("Content-Type", content_type)
        ack.body = body
        relay.far_ack = ack
        self._send_in_dialog(relay.far_dialog, ack)

    def _relay_timer(self, call: HeldCall, relay: Relay, interval: float) -> None:
        """§13.3.1.4: our 2xx again until the ACK, T1 doubling to T2 (once, over TCP)."""
        wait = 64 * self.endpoint.table.timers.t1 if relay.near_tx.reliable else interval
        loop = asyncio.get_running_loop()
        relay.timer = loop.call_later(wait, self._relay_resend, call, relay, interval)

    def _relay_resend(self, call: HeldCall, relay: Relay, interval: float) -> None:
        relay.timer = None
        if relay.near_ok is None or relay.far_ack is not None or call.state is HeldState.ENDED:
            return
        elapsed = asyncio.get_running_loop().time() - relay.started
        if relay.near_tx.reliable or elapsed >= 64 * self.endpoint.table.timers.t1:
            # no ACK came: the far side still needs one, and the pair is free again
            log.info("queued call %d: no ACK for the relayed %s", call.id, relay.method)
            self._ack_far(relay, b"", None)
            if call.relay is relay:
                call.relay = None
            return
        self.endpoint.respond(relay.near_tx, relay.near_ok)
        self._relay_timer(call, relay, min(interval * 2, self.endpoint.table.timers.t2))

    def _drop_relay(self, call: HeldCall) -> None:
        """The call ends: a session change still waiting for its answer gets 487."""
        relay, call.relay = call.relay, None
        if relay is None:
            return
        if relay.timer is not None:
            relay.timer.cancel()
        if relay.near_ok is None and not relay.near_tx.terminated:
            self.endpoint.respond(relay.near_tx, make_response(relay.near_request, 487))

    def _own_reinvite_pending(self, call: HeldCall) -> bool:
        """One of our own re-INVITEs to the caller (connect, send back) has no answer yet."""
        tx = call.reinvite_tx
        return tx is not None and not tx.terminated and tx.state.name in ("CALLING", "PROCEEDING")

    @staticmethod
    def _paired_with(call: HeldCall, side: str) -> str | None:
        """The leg that talks with `side` now, or None."""
        if call.state is HeldState.BRIDGED:
            pair = ("caller", "operator")
        elif call.state is HeldState.CONNECTED:
            pair = ("caller", "destination")
        else:
            return None
        if side not in pair:
            return None
        return pair[1] if side == pair[0] else pair[0]

    def _leg(self, call: HeldCall, side: str) -> tuple[Dialog | None, str]:
        """A leg's dialog and the transport it is reached by."""
        if side == "caller":
            return call.caller_dialog, call.invite.top_via.transport.lower()
        if side == "operator":
            return call.operator_dialog, self._transport(call)
        return call.dest_dialog, self._dest_transport(call)

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
        self._legs_changed(call)

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
        headers: Sequence[tuple[str, str]] = (),
        try_timeout: float | None = None,
    ) -> None:
        """Call the destination with no offer; its 200 carries one, which goes to the caller
        in a re-INVITE; the caller's answer goes back in the destination's ACK, and the
        operator's leg is released. The phones then send media to each other. `headers` go
        in the INVITE (a manual board's jack label, for its gateway).

        With `role="operator"` the same flow brings a caller who was sent back (and so is
        already answered) to an operator who takes the call again. A destination that sends
        no response at all within `try_timeout` seconds (a trunk's) fails the connect with 408,
        as the proxy's trunk failover does, rather than after the INVITE's 32 s."""
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
        for name, value in headers:
            invite.add_header(name, value)
        call.dest_invite, call.dest_peer = invite, peer
        call.dest_dialog = call.dest_ack = None
        call.reinvite = call.reinvite_tx = call.caller_ack = None
        call.state = HeldState.CONNECTING
        call.dest_tx = self.endpoint.send_request(invite, peer)
        self._by_client_tx[call.dest_tx] = call
        if try_timeout is not None:
            call.dest_timer = asyncio.get_running_loop().call_later(
                try_timeout, self._connect_unanswered, call, call.dest_tx
            )

    def _connect_unanswered(self, call: HeldCall, tx: ClientTransaction) -> None:
        """Not even a 100 Trying from the destination in time: the connect fails with 408 (the
        switchboard tries the next trunk). The INVITE's transaction goes on: a late
        provisional response gets our CANCEL (§9.1), a late 2xx its ACK and a BYE."""
        call.dest_timer = None
        if call.dest_tx is not tx or call.state is not HeldState.CONNECTING or tx.terminated:
            return
        assert call.dest_invite is not None and call.dest_peer is not None
        log.info("queued call %d: no response from %s", call.id, call.dest_invite.uri)
        self._given_up[tx] = GivenUp(call.dest_invite, call.dest_peer)
        self._connect_failed(call, 408)

    def _late_response(self, late: GivenUp, response: Response) -> None:
        """A response to a connect INVITE given up on."""
        status = response.status
        if status < 200:
            if not late.cancelled:
                late.cancelled = True
                self.endpoint.send_request(build_cancel(late.invite), late.peer)
            return
        if status >= 300:
            return  # its transaction sends the ACK
        first = late.dialog is None
        dialog = late.dialog = late.dialog or Dialog.as_uac(late.invite, response)
        # every 2xx, sent again until it is acknowledged, gets the ACK; an offer in it is
        # answered with every stream refused (§13.2.2.4), since the call ends at once
        ack = dialog.request("ACK", self._via(late.peer.transport))
        ack.set_header("CSeq", f"{late.invite.cseq.number} ACK")
        if response.body:
            ack.add_header("Content-Type", "application/sdp")
            ack.body = refusing_answer(response.body, self.host)
        self._send_in_dialog(dialog, ack)
        if first:
            bye = dialog.request("BYE", self._via(late.peer.transport))
            self._send_in_dialog(dialog, bye, stateful=True)

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
            self._legs_changed(call)
            self.events.operator_answered(call)
            return
        if call.refer_pending:
            self._notify_refer(call, "SIP/2.0 200 OK", final=True)
        if call.operator_dialog is not None:
            self._by_dialog.pop(call.operator_dialog.key, None)
            self._bye(call.operator_dialog, call)
        call.state = HeldState.CONNECTED
        self._legs_changed(call)
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
        self._stop_dest_timer(call)
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
        self.events.connect_failed(call, status)
        # the transfer has failed unless the switchboard is trying the next destination
        if call.refer_pending and call.state is HeldState.BRIDGED:
            self._notify_refer(call, f"SIP/2.0 {status} {reason_phrase(status)}", final=True)

    def _legs_changed(self, call: HeldCall) -> None:
        if self.keeper is not None:
            self.keeper.legs_changed(call)

    @staticmethod
    def _stop_dest_timer(call: HeldCall) -> None:
        if call.dest_timer is not None:
            call.dest_timer.cancel()
            call.dest_timer = None

    def _cancel_destination(self, call: HeldCall) -> None:
        if call.dest_invite is not None and call.dest_peer is not None:
            self.endpoint.send_request(build_cancel(call.dest_invite), call.dest_peer)

    def _dest_transport(self, call: HeldCall) -> str:
        return call.dest_peer.transport if call.dest_peer is not None else "udp"

    def _end(self, call: HeldCall) -> None:
        if call.state is not HeldState.ENDED and self.keeper is not None:
            self.keeper.released(call)
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


def _pending(call: HeldCall) -> bool:
    """Is the caller's INVITE still without a final response?"""
    return (
        call.provisional is not None
        and call.caller_dialog is None
        and call.state in (HeldState.WAITING, HeldState.RINGING_OPERATOR)
        and not call.server_tx.terminated
    )


def _readable(response: Response) -> bool:
    """Can this leg read the response's From and To? The parser checks only what matching
    needs (top Via, CSeq) in responses; a leg builds its dialog from the rest."""
    try:
        response.from_addr  # noqa: B018
        response.to_addr  # noqa: B018
    except SipError as err:
        log.info("dropped a response to a leg: %s", err.reason)
        return False
    return True
