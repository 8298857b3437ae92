"""The stateful, record-routing proxy (RFC 3261 §16).

It stays on the signaling path of every call it routes (Record-Route), forks an INVITE to every
target (equal q in parallel, lower q after), forwards provisional and 2xx responses at once,
picks the best final response when nothing succeeds, cancels the other branches when one
answers, and routes in-dialog requests and the ACK for 2xx by their Route set, so calls that
are up keep working across a restart. Media is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..sip import (
    ParseError,
    Request,
    Response,
    SipError,
    SipURI,
    make_response,
    parse_name_addr,
    parse_uri,
)
from ..sip.peek import peek_dialog_ack
from ..transaction import (
    AckReceived,
    ClientTransaction,
    Output,
    ResponseReceived,
    ServerTransaction,
    Terminated,
    Timeout,
    TransportFailed,
    UnmatchedAck,
    branch,
    build_cancel,
    cookie_server_key,
)
from ..transport import Peer
from ..transport.endpoint import SipEndpoint
from ..transport.via import stamp_via
from .context import Branch, ResponseContext, Target
from .local import LocalAddress, loop_hash
from .observer import CallObserver, NoObserver
from .validation import DEFAULT_MAX_FORWARDS, validate

log = logging.getLogger(__name__)

TIMER_C = 180.0  # §16.6 step 11: more than three minutes
MAX_TRACKED_CALLS = 200_000  # answered calls remembered until their BYE, for the records
# RFC 3326: the other forks of an answered call stop ringing without showing a missed call
COMPLETED_ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


@dataclass(slots=True)
class Admission:
    """Who is calling: a line number, or `trunk:CODE` for a peer exchange."""

    caller: str


@dataclass(slots=True)
class Routing:
    """Where a request goes, and what the call record should say about it."""

    targets: Sequence[Target]
    dialed: str = ""
    number: str = ""
    route: str = ""
    extra_headers: list[tuple[str, str]] = field(default_factory=list)
    response: Response | None = None  # the final answer instead of targets (a reject)
    queue: object | None = None  # an operator queue takes the call instead (dialplan `queue`)
    recorded: bool = True  # False: another node of ours routed the call and records it


class CallRouter(Protocol):
    """What the proxy asks of the rest of the softswitch."""

    def admit(self, request: Request, peer: Peer, now: float) -> Admission | Response:
        """May this request be routed (authentication, trusted trunks)? Else the answer."""

    def locate(self, request: Request, admission: Admission, now: float) -> Routing | Response:
        """The targets of an out-of-dialog request, or the final answer."""

    def next_hop(self, uri: SipURI) -> Peer | None:
        """Where a request to `uri` goes (a registered phone's NAT address, an IP literal);
        None when the host needs a DNS look-up."""

    def enqueue(
        self, request: Request, tx: ServerTransaction, routing: Routing, admission: Admission
    ) -> None:
        """Hand an INVITE whose routing names an operator queue to the queue (182 Queued)."""

    def cancel_queued(self, invite_tx: ServerTransaction) -> bool:
        """A CANCEL for an INVITE held in a queue; True when it was one."""


def new_tag() -> str:
    return branch()[7:]


class ProxyCore:
    def __init__(
        self,
        endpoint: SipEndpoint,
        local: LocalAddress,
        router: CallRouter,
        *,
        observer: CallObserver | None = None,
        timer_c: float = TIMER_C,
    ) -> None:
        self.endpoint = endpoint
        self.local = local
        self.router = router
        self.observer: CallObserver = observer or NoObserver()
        self.timer_c = timer_c
        self._contexts: dict[ServerTransaction, ResponseContext] = {}
        # client transaction -> (context, branch); CANCEL transactions map to None
        self._branches: dict[ClientTransaction, tuple[ResponseContext, Branch] | None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Call-ID -> the caller's From tag, for answered calls until their BYE
        self._answered_calls: dict[str, str] = {}

    @property
    def active_contexts(self) -> int:
        return len(self._contexts)

    # -- requests ----------------------------------------------------------------------------

    def handle_request(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        try:
            self._handle_request(request, peer, tx)
        except ParseError as err:
            # a header needed for routing turned out malformed: the peer's mistake
            self._respond(tx, make_response(request, 400, err.reason, to_tag=new_tag()))

    def _handle_request(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        if request.method == "CANCEL":
            self._cancel(request, tx)
            return
        error = validate(request, self.local, new_tag())
        if error is not None:
            self._respond(tx, error)
            return
        routed_here = self._preprocess_route(request)
        in_dialog = request.to_addr.tag is not None
        routes = request.address_list("route")
        if routes or (in_dialog and routed_here):
            if not in_dialog:
                admission = self.router.admit(request, peer, time.time())
                if isinstance(admission, Response):
                    self._respond(tx, admission)
                    return
            next_hop = routes[0].uri if routes else request.request_uri
            if routes and isinstance(next_hop, SipURI) and "lr" not in next_hop.params:
                # §16.6 step 6: a strict router next: it routes on the Request-URI it gets
                request.add_header("Route", f"<{request.uri}>")
                request.pop_first_value("route")
                request.set_uri(str(next_hop))
            self._forward_to_uri(request, tx, next_hop, in_dialog=in_dialog)
            return
        if in_dialog:
            # In a dialog but not routed through us: nothing we set up (§16.4 would forward it
            # to the Request-URI; an open relay for anyone who knows a tag).
            self._respond(tx, make_response(request, 404, "Not routed here", to_tag=new_tag()))
            return
        now = time.time()
        admission = self.router.admit(request, peer, now)
        if isinstance(admission, Response):
            self._respond(tx, admission)
            return
        routing = self.router.locate(request, admission, now)
        if isinstance(routing, Response):
            routing = Routing((), response=routing)
        if routing.response is not None:
            if request.method == "INVITE":
                self.observer.call_started(
                    request.call_id,
                    admission.caller,
                    routing.dialed,
                    routing.number,
                    routing.route,
                    now,
                )
                self.observer.call_failed(
                    request.call_id, routing.response.status, routing.response.reason, time.time()
                )
            self._respond(tx, routing.response)
            return
        if routing.queue is not None and request.method == "INVITE":
            self._respond(tx, make_response(request, 100))
            self.observer.call_started(
                request.call_id,
                admission.caller,
                routing.dialed,
                routing.number,
                routing.route,
                now,
            )
            self.router.enqueue(request, tx, routing, admission)
            return
        if request.method == "INVITE":
            self._respond(tx, make_response(request, 100))
        if request.method == "INVITE" and routing.recorded:
            self.observer.call_started(
                request.call_id,
                admission.caller,
                routing.dialed,
                routing.number,
                routing.route,
                now,
            )
        context = ResponseContext(request, tx, routing.targets)
        context.caller = admission.caller
        self._contexts[tx] = context
        self._start_next_group(context)

    def _preprocess_route(self, request: Request) -> bool:
        """§16.4: undo a strict router's work, then take our own entry off the Route set.
        True when the request was routed to us (we are in its route set)."""
        try:
            ruri = request.request_uri
        except ParseError:
            return False
        routed_here = False
        first = request.first_value("route")
        strict_previous_hop = (
            first is not None
            and self.local.is_ours(ruri)
            and isinstance(ruri, SipURI)
            and "lr" in ruri.params
        )
        if strict_previous_hop:
            # The previous hop was a strict router: the real Request-URI is the last Route.
            routed_here = True
            request.set_uri(str(request.address_list("route")[-1].uri))
            values = request.header_values("route")[:-1]
            request.remove_header("route")
            for value in values:
                request.add_header("Route", value)
            first = request.first_value("route")
        # our own entries, read from their text: the same few values in every dialog
        while first is not None and self.local.names_us(first):
            request.pop_first_value("route")
            first = request.first_value("route")
            routed_here = True
        return routed_here

    def handle_ack(self, request: Request) -> None:
        """An ACK for a 2xx (its own transaction-less request, §16.10 ... §13.2.2.4)."""
        if request.max_forwards == 0:
            return  # §16.3 step 3: too many hops, and an ACK is never answered
        self._preprocess_route(request)
        routes = request.address_list("route")
        target = routes[0].uri if routes else request.request_uri
        if not isinstance(target, SipURI) or self.local.is_ours(target):
            return  # an ACK for a response we generated ourselves
        peer = self.router.next_hop(target)
        if peer is None:
            self._spawn(self._resolve_and_send(self._outgoing(request, str(request.uri)), target))
            return
        self.endpoint.send_stateless(peer, self._outgoing(request, str(request.uri), peer))

    def relay_ack(self, data: bytes, peer: Peer) -> bool:
        """The ACK of a 2xx, relayed from its bytes when it is in the usual form and routed
        through us to a next hop we know: the same ACK `handle_ack` would send, at a fraction
        of the cost. False leaves it to the full parse (an ACK of a transaction's final
        response, a strict router, a next hop to resolve, a dialog of our own)."""
        ack = peek_dialog_ack(data)
        if ack is None:
            return False
        key = cookie_server_key(ack.top_via, "ACK")
        if key is None or self.endpoint.table.server(key) is not None:
            return False  # the ACK of a non-2xx final response: its INVITE transaction's
        routes = ack.routes
        names_us = self.local.names_us
        try:
            if not routes or not names_us(routes[0]):
                return False
            taken = 1
            while taken < len(routes) and names_us(routes[taken]):
                taken += 1
            ruri = parse_uri(ack.uri)
            beyond = [parse_name_addr(value).uri for value in routes[taken:]]
        except SipError:
            return False
        if self.local.is_ours(ruri):
            return False
        target = beyond[0] if beyond else ruri
        if not isinstance(target, SipURI) or (target is not ruri and "lr" not in target.params):
            return False
        next_hop = self.router.next_hop(target)
        if next_hop is None:
            return False
        if ack.max_forwards == 0:
            return True  # §16.3 step 3: too many hops, and an ACK is never answered
        max_forwards = (ack.max_forwards if ack.max_forwards is not None else 71) - 1
        via = self.local.via(next_hop.transport, branch())
        stamped = stamp_via(ack.top_via, peer)
        self.endpoint.send_bytes(
            next_hop, ack.forwarded(str(via), max_forwards, taken, stamped=stamped)
        )
        return True

    # -- forwarding ----------------------------------------------------------------------------

    def _forward_to_uri(
        self, request: Request, tx: ServerTransaction, uri: object, *, in_dialog: bool
    ) -> None:
        if not isinstance(uri, SipURI):
            self._respond(tx, make_response(request, 416, to_tag=new_tag()))
            return
        peer = self.router.next_hop(uri)
        if peer is None:
            self._spawn(self._resolve_and_forward(request, tx, uri))
            return
        context = ResponseContext(request, tx, [Target(request.uri, peer)])
        self._contexts[tx] = context
        if request.method == "BYE":
            caller_tag = self._answered_calls.pop(request.call_id, None)
            if caller_tag is not None:
                by = "caller" if request.from_addr.tag == caller_tag else "callee"
                self.observer.call_ended(request.call_id, by, time.time())
        self._start_next_group(context)

    async def _resolve_and_forward(
        self, request: Request, tx: ServerTransaction, uri: SipURI
    ) -> None:
        peer = await resolve(uri)
        if peer is None:
            self._respond(tx, make_response(request, 404, "Next hop unknown", to_tag=new_tag()))
            return
        context = ResponseContext(request, tx, [Target(request.uri, peer)])
        self._contexts[tx] = context
        self._start_next_group(context)

    def _start_next_group(self, context: ResponseContext) -> None:
        group = context.take_next_group()
        for target in group:
            request = self._outgoing(
                context.request, target.uri, target.peer, target, context.server_tx.peer
            )
            branch_ = Branch(target, request)
            context.branches.append(branch_)
            tx = self.endpoint.send_request(request, target.peer)
            branch_.tx = tx
            self._branches[tx] = (context, branch_)
            if target.try_timeout is not None:
                loop = asyncio.get_running_loop()
                branch_.try_timer = loop.call_later(
                    target.try_timeout, self._try_timed_out, context, branch_
                )
        if context.request.method == "INVITE" and context.timer_c is None and group:
            self._arm_timer_c(context)

    def _outgoing(
        self,
        original: Request,
        uri: str,
        peer: Peer | None = None,
        target: Target | None = None,
        inbound: Peer | None = None,
    ) -> Request:
        """§16.6: copy, new Request-URI, Max-Forwards, Record-Route, Route, our Via."""
        request = Request(original.method, uri, original.copy_fields(), original.body)
        max_forwards = original.max_forwards
        request.set_header(
            "Max-Forwards",
            str((max_forwards if max_forwards is not None else DEFAULT_MAX_FORWARDS + 1) - 1),
        )
        transport = peer.transport if peer is not None else "udp"
        if original.method in ("INVITE", "SUBSCRIBE", "REFER") and original.to_addr.tag is None:
            if inbound is not None and inbound.transport != transport:
                # RFC 5658 §3.4: from one transport to another, record-route twice, so each
                # side reaches us over its own transport (the callee uses the top entry, the
                # caller the bottom one)
                request.add_header(
                    "Record-Route", self.local.record_route(inbound.transport), first=True
                )
            request.add_header("Record-Route", self.local.record_route(transport), first=True)
        if target is not None and target.route:
            existing = request.header_values("route")
            request.remove_header("route")
            for value in (*target.route, *existing):
                request.add_header("Route", value)
        if original.to_addr.tag is None:
            via_branch = f"{branch()}.{loop_hash(original)}"
        else:
            # in a dialog the Route set decides the path, so there is no loop to tell from a
            # spiral; Max-Forwards still ends one
            via_branch = branch()
        request.push_via(self.local.via(transport, via_branch))
        return request

    async def _resolve_and_send(self, request: Request, uri: SipURI) -> None:
        peer = await resolve(uri)
        if peer is not None:
            self.endpoint.send_stateless(peer, request)

    # -- CANCEL ------------------------------------------------------------------------------

    def _cancel(self, request: Request, tx: ServerTransaction) -> None:
        """§16.10: answer the CANCEL, then cancel every pending branch of its INVITE."""
        invite_tx = self.endpoint.table.cancel_target(request)
        if invite_tx is None:
            self._respond(tx, make_response(request, 481, to_tag=new_tag()))
            return
        self._respond(tx, make_response(request, 200, to_tag=new_tag()))
        if self.router.cancel_queued(invite_tx):
            self.observer.call_failed(request.call_id, 487, "Request Terminated", time.time())
            return
        context = self._contexts.get(invite_tx)
        if context is None or context.answered or context.final_sent:
            return
        context.cancelled = True
        for branch_ in context.pending:
            self._cancel_branch(branch_)
            if not branch_.ringing:
                branch_.status = 487  # no response yet: nothing to CANCEL until one comes
        self._maybe_finish(context)

    def _cancel_branch(self, branch_: Branch, reason: str | None = None) -> None:
        if branch_.cancelled or branch_.done:
            return
        if not branch_.ringing:
            branch_.cancel_pending = True  # §9.1: CANCEL only after a provisional response
            return
        self._send_cancel(branch_, reason)

    def _send_cancel(self, branch_: Branch, reason: str | None) -> None:
        """The CANCEL itself; also for a branch we already counted as ended (its INVITE was
        cancelled or given up before any response came), when its first provisional comes."""
        if branch_.cancelled:
            return
        branch_.cancelled = True
        branch_.cancel_pending = False
        cancel = build_cancel(branch_.request, reason)
        cancel_tx = self.endpoint.send_request(cancel, branch_.target.peer)
        self._branches[cancel_tx] = None
        give_up = 64 * self.endpoint.table.timers.t1
        asyncio.get_running_loop().call_later(give_up, self._cancel_unanswered, branch_)

    def _cancel_unanswered(self, branch_: Branch) -> None:
        """§9.1: no final response 64*T1 after our CANCEL: the INVITE is over for us."""
        tx = branch_.tx
        entry = self._branches.get(tx)
        if entry is None or branch_.final is not None:
            return
        context, _ = entry
        if not branch_.done:
            branch_.status = 487
        self.endpoint.table.abandon(tx)
        self._terminated(tx)
        self._maybe_finish(context)

    # -- responses and transaction events ------------------------------------------------------

    def handle_event(self, output: Output) -> None:
        kind = type(output)
        if kind is ResponseReceived:
            assert isinstance(output, ResponseReceived)
            self._response(output.tx, output.response)  # type: ignore[arg-type]
        elif kind is UnmatchedAck or kind is AckReceived:
            self.handle_ack(output.request)  # type: ignore[union-attr]
        elif kind is Timeout or kind is TransportFailed:
            tx = output.tx  # type: ignore[union-attr]
            entry = self._branches.get(tx)  # type: ignore[arg-type]
            if entry is not None:
                context, branch_ = entry
                self._stop_try_timer(branch_)  # the target will not answer now
                if not branch_.done:
                    branch_.status = 408 if kind is Timeout else 503
                    self._maybe_finish(context)
            elif isinstance(tx, ServerTransaction):
                self._contexts.pop(tx, None)
        elif kind is Terminated:
            self._terminated(output.tx)  # type: ignore[union-attr]

    def _response(self, tx: ClientTransaction, response: Response) -> None:
        entry = self._branches.get(tx)
        if entry is None:
            return  # a response to our CANCEL
        context, branch_ = entry
        self._stop_try_timer(branch_)  # the target answers
        status = response.status
        if status < 200:
            if branch_.cancel_pending:
                # a branch cancelled before it answered at all: now its CANCEL can go
                branch_.status = max(branch_.status, status)
                self._send_cancel(branch_, COMPLETED_ELSEWHERE if context.answered else None)
                return
            if status == 100:
                if branch_.status == 0:
                    branch_.status = 100
                return
            branch_.status = max(branch_.status, status)
            if context.answered or context.final_sent or context.cancelled:
                # §16.7 step 5: after a final response only 2xx go upstream (a fork that
                # rings while another answers; its CANCEL is on the way)
                return
            if context.request.method == "INVITE":
                self._arm_timer_c(context)
            self._forward_response(context, response)
            return
        if 200 <= status < 300:
            branch_.status = status
            branch_.final = response
            first = not context.answered
            context.answered = True
            request = context.request
            invite = first and request.method == "INVITE"
            # read before the 2xx goes: its server transaction then packs the request away
            new_call = invite and request.to_addr.tag is None  # not a re-INVITE in a call
            call_id, caller_tag = (request.call_id, request.from_addr.tag) if new_call else ("", "")
            self._forward_response(context, response)
            if invite:
                self._disarm_timer_c(context)
                if new_call:
                    self._answered_calls[call_id] = caller_tag or ""
                    if len(self._answered_calls) > MAX_TRACKED_CALLS:
                        # calls whose BYE never came through us: forget the oldest
                        del self._answered_calls[next(iter(self._answered_calls))]
                    self.observer.call_answered(call_id, time.time())
                for other in context.pending:
                    self._cancel_branch(other, COMPLETED_ELSEWHERE)
            if first:
                self._settled(context)
            return
        if branch_.done:
            return  # a final after we gave up on this branch
        if branch_.gave_up and status == 487:
            # §16.8: timer C cancelled it, not the caller; the caller hears "no answer"
            branch_.status = 408
            self._maybe_finish(context)
            return
        branch_.status = status
        branch_.final = response
        if status >= 600:
            for other in context.pending:
                self._cancel_branch(other)
        self._maybe_finish(context)

    def _maybe_finish(self, context: ResponseContext) -> None:
        if context.final_sent or context.answered or context.pending:
            return
        if context.should_continue():
            self._start_next_group(context)
            if context.branches and context.pending:
                return
        status, response = context.best_response()
        if context.cancelled:
            status, response = 487, None
        context.final_sent = True
        self._disarm_timer_c(context)
        request = context.request
        if response is not None:
            if response.status in (401, 407):
                response = context.with_every_challenge(response)
            self._forward_response(context, response)
        else:
            self._respond(context.server_tx, make_response(request, status, to_tag=new_tag()))
        if request.method == "INVITE" and request.to_addr.tag is None:
            reason = response.reason if response is not None else ""
            self.observer.call_failed(request.call_id, status, reason, time.time())
        self._settled(context)

    def _settled(self, context: ResponseContext) -> None:
        """Its final response has gone upstream. An INVITE's context stays while its branches
        may still answer: each 2xx goes upstream too (§16.7 step 5), and it keeps its requests
        as text meanwhile. A non-INVITE's context is done once no branch is pending: its
        transactions take what is sent again by themselves (§17.1.2.2, §17.2.2)."""
        if context.request.method == "INVITE" or context.pending:
            context.forget_parsed()
            return
        self._contexts.pop(context.server_tx, None)
        for branch_ in context.branches:
            self._stop_try_timer(branch_)
            if branch_.tx is not None:
                self._branches.pop(branch_.tx, None)

    def _forward_response(self, context: ResponseContext, response: Response) -> None:
        """§16.7 step 9: our Via off, then back through the server transaction."""
        if response.status != 503:
            data = response.without_top_via()
            if data is not None:
                # the server transaction reads only the status and the To of what it sends
                self.endpoint.respond(context.server_tx, response, data=data)
                return
        upstream = Response(response.status, response.reason, response.copy_fields(), response.body)
        upstream.pop_first_value("via")
        if upstream.status == 503:
            upstream.status, upstream.reason = 500, "Server Internal Error"
        self._respond(context.server_tx, upstream)

    def _respond(self, tx: ServerTransaction, response: Response) -> None:
        self.endpoint.respond(tx, response)

    def _terminated(self, tx: object) -> None:
        if isinstance(tx, ClientTransaction):
            entry = self._branches.pop(tx, None)
            if entry is not None:
                context, branch_ = entry
                self._stop_try_timer(branch_)
                if context.final_sent or context.answered:
                    self._drop_if_done(context)
        elif isinstance(tx, ServerTransaction):
            served = self._contexts.get(tx)
            if served is not None and not served.pending:
                self._contexts.pop(tx, None)

    def _drop_if_done(self, context: ResponseContext) -> None:
        if any(b.tx in self._branches for b in context.branches):
            return
        self._contexts.pop(context.server_tx, None)

    # -- timers ----------------------------------------------------------------------------

    def _arm_timer_c(self, context: ResponseContext) -> None:
        """(Re)start timer C. A timer already armed stays: when it fires before the new
        deadline it waits out the rest, so a ringing call costs one loop timer, not one per
        provisional response."""
        loop = asyncio.get_running_loop()
        context.timer_c_at = loop.time() + self.timer_c
        if context.timer_c is None:
            context.timer_c = loop.call_at(context.timer_c_at, self._timer_c_fired, context)

    def _disarm_timer_c(self, context: ResponseContext) -> None:
        if context.timer_c is not None:
            context.timer_c.cancel()
            context.timer_c = None

    def _timer_c_fired(self, context: ResponseContext) -> None:
        """§16.8: no final answer for too long: cancel what rings, give up on the rest."""
        context.timer_c = None
        loop = asyncio.get_running_loop()
        if loop.time() < context.timer_c_at:  # a provisional since the timer was armed
            context.timer_c = loop.call_at(context.timer_c_at, self._timer_c_fired, context)
            return
        for branch_ in context.pending:
            if branch_.ringing:
                branch_.gave_up = True
                self._cancel_branch(branch_)
            else:
                branch_.cancel_pending = True
                branch_.status = 408
        self._maybe_finish(context)

    def _stop_try_timer(self, branch_: Branch) -> None:
        """A branch's try timeout has nothing left to do once its target answers or its
        transaction ends, and would hold the call's context until it fired."""
        if branch_.try_timer is not None:
            branch_.try_timer.cancel()
            branch_.try_timer = None

    def _try_timed_out(self, context: ResponseContext, branch_: Branch) -> None:
        """A trunk that did not answer in time: on to the next one."""
        branch_.try_timer = None
        if branch_.status == 0 and not context.final_sent and not context.answered:
            branch_.cancel_pending = True  # should it wake up after all, it is cancelled
            branch_.status = 408
            self._maybe_finish(context)

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def resolve(uri: SipURI) -> Peer | None:
    """The next hop for a URI whose host is a name (RFC 3263 without NAPTR/SRV: A/AAAA only)."""
    transport = uri.transport if uri.transport in ("udp", "tcp") else "udp"
    port = uri.port or 5060
    host = uri.params.get("maddr") or uri.host
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host.strip("[]"), port, type=0)
    except OSError as err:
        log.info("cannot resolve %s: %s", host, err)
        return None
    if not infos:
        return None
    address = infos[0][4][0]
    return Peer(transport, str(address), port)
