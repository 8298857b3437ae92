"""The SIP endpoint: bytes from the sockets through the parser and the transaction table to the
transaction user, and back. One per process; it owns the single loop timer of all transactions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Container, Sequence
from typing import NamedTuple

from ..sip import ParseError, Request, Response, make_response, parse_message, reason_phrase
from ..sip.peek import NewRequest, is_refusal_ack, peek_new_request
from ..transaction import (
    DEFAULT_TIMERS,
    AckReceived,
    ClientTransaction,
    Output,
    RequestReceived,
    ResponseReceived,
    Send,
    ServerTransaction,
    Timeout,
    TimerConfig,
    Transaction,
    TransactionTable,
    TransportFailed,
    UnmatchedAck,
    UnmatchedResponse,
    cookie_server_key,
)
from .layer import TransportLayer
from .peer import Peer
from .via import response_peer, stamp_received, stamp_via

log = logging.getLogger(__name__)

RequestHandler = Callable[[Request, Peer, ServerTransaction], None]
EventHandler = Callable[[Output], None]


class Answer(NamedTuple):
    """A stateless answer (§8.2.7): its status, extra header fields, and To tag (None: the
    refusal tag, the same for every retransmission)."""

    status: int
    headers: Sequence[tuple[str, str]] = ()
    to_tag: str | None = None


# Looks at a new request (outside any dialog, not a retransmission of one already taken) read
# from its bytes before it is parsed, and the peer it came from: a stateless answer, or None to
# take the request. It sees requests with credentials only when it looks at every request
# (`screened` None).
Screen = Callable[[NewRequest, Peer], "Answer | None"]

# Relays an ACK from its bytes; False leaves it to the full parse and the transaction table.
AckRelay = Callable[[bytes, Peer], bool]

# At most this many lines a second about broken input, so a flood cannot flood the log too.
BAD_INPUT_LOG_RATE = 20


class SipEndpoint:
    """Parses what arrives, matches it to transactions, and hands new requests (and every other
    transaction event) to the transaction user."""

    def __init__(
        self,
        on_request: RequestHandler,
        *,
        on_event: EventHandler | None = None,
        max_message_size: int = 65535,
        tcp_idle_timeout: float = 600.0,
        timers: TimerConfig = DEFAULT_TIMERS,
    ) -> None:
        self._on_request = on_request
        self._on_event = on_event
        self.table = TransactionTable(timers)
        self.transport = TransportLayer(
            self._received,
            max_message_size=max_message_size,
            tcp_idle_timeout=tcp_idle_timeout,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._log_window = 0
        self._logged = 0
        self._suppressed = 0
        self.screen: Screen | None = None
        # the start of the requests the screen looks at (b"REGISTER "), or None: every one
        self.screened: tuple[bytes, ...] | None = None
        # sources whose requests skip the screen unless it looks at every one (the trusted
        # networks, whose REGISTERs are taken, not challenged): not peeked at for nothing
        self.unscreened: Container[str] = ()
        self.ack_relay: AckRelay | None = None
        self._closed = False

    async def listen(self, host: str, port: int, *, shared: bool = False) -> int:
        self._loop = asyncio.get_running_loop()
        return await self.transport.listen(host, port, shared=shared)

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.transport.close()

    # -- from the network --------------------------------------------------------------------

    def _received(self, data: bytes, peer: Peer) -> None:
        screened = self.screened
        if (
            self.screen is not None
            and (
                screened is None
                # a request with credentials answers a challenge: the full path's to check
                or (
                    data.startswith(screened)
                    and b"Authorization" not in data
                    and peer.host not in self.unscreened
                )
            )
            and self._screened_out(data, peer)
        ):
            return
        if data[:4] == b"ACK ":
            if is_refusal_ack(data):
                return  # the ACK of a stateless refusal (§8.2.7): it has no transaction to end
            if self.ack_relay is not None and self.ack_relay(data, peer):
                return
        try:
            message = parse_message(data, datagram=peer.transport == "udp")
        except ParseError as err:
            self._bad_input(err, peer)
            return
        loop = self._loop
        assert loop is not None
        now = loop.time()
        if type(message) is Request:
            stamp_received(message, peer)
            tx_peer = response_peer(message.top_via, peer)
            outputs = self.table.receive_request(message, tx_peer, now, reliable=peer.reliable)
        else:
            assert isinstance(message, Response)
            outputs = self.table.receive_response(message, now)
        self._dispatch(outputs)

    def _screened_out(self, data: bytes, peer: Peer) -> bool:
        """A new request the screen answers, answered from its bytes without the full parse and
        without a transaction: answering so costs a fraction of taking. A retransmission of a
        request already taken goes on to its transaction; a request in an unusual form is
        parsed and taken."""
        assert self.screen is not None
        request = peek_new_request(data)
        if request is None:
            return False
        key = cookie_server_key(request.top_via, request.method)
        if key is None or self.table.server(key) is not None:
            return False
        answer = self.screen(request, peer)
        if answer is None:
            return False
        status = answer.status
        stamp_via(request.top_via, peer)
        try:
            self.transport.send(
                response_peer(request.top_via, peer),
                request.response(status, reason_phrase(status), answer.headers, answer.to_tag),
            )
        except OSError as err:
            log.info("send to %s failed: %s", peer, err)
        return True

    def _bad_input(self, err: ParseError, peer: Peer) -> None:
        request = err.request
        if request is None:
            self._log_bad(f"{peer}: dropped: {err.reason}")
            return
        self._log_bad(f"{peer}: {err.status} {err.reason}")
        warning = err.reason.replace('"', "'").replace("\\", "/")[:200]
        response = make_response(request, err.status, headers=[("Warning", f'399 - "{warning}"')])
        try:
            stamp_received(request, peer)
            self.transport.send(response_peer(request.top_via, peer), response.to_bytes())
        except (ParseError, OSError) as send_err:
            log.debug("could not answer bad input from %s: %s", peer, send_err)

    def _log_bad(self, line: str) -> None:
        window = int(time.monotonic())
        if window != self._log_window:
            if self._suppressed:
                log.warning("%d more lines about bad input suppressed", self._suppressed)
            self._log_window, self._logged, self._suppressed = window, 0, 0
        if self._logged < BAD_INPUT_LOG_RATE:
            self._logged += 1
            log.warning("%s", line)
        else:
            self._suppressed += 1

    # -- from the transaction user -----------------------------------------------------------

    def respond(
        self, tx: ServerTransaction, response: Response, *, data: bytes | None = None
    ) -> None:
        """Send a response on its server transaction (retransmitted by it over UDP); `data`
        is its wire form when the caller already has it."""
        assert self._loop is not None
        if tx.terminated or self._closed:
            return  # the caller gave up, or the node stops: nothing to do
        self._dispatch(self.table.send_response(tx, response, self._loop.time(), data=data))

    def send_request(self, request: Request, peer: Peer) -> ClientTransaction:
        """Send a request on a new client transaction; its events come to `on_event`."""
        assert self._loop is not None
        tx, outputs = self.table.send_request(
            request, peer, self._loop.time(), reliable=peer.reliable
        )
        self._dispatch(outputs)
        return tx

    def _transport_failed(self, tx: Transaction) -> None:
        assert self._loop is not None
        self._dispatch(self.table.transport_error(tx, self._loop.time()))

    def send_stateless(self, peer: Peer, message: Request | Response) -> None:
        """Send outside any transaction (an ACK for a 2xx, a forwarded 2xx)."""
        self.send_bytes(peer, message.to_bytes())

    def send_bytes(self, peer: Peer, data: bytes) -> None:
        """Send a message's wire form outside any transaction."""
        try:
            self.transport.send(peer, data)
        except OSError as err:
            log.info("send to %s failed: %s", peer, err)

    # -- outputs and the timer ---------------------------------------------------------------

    def _dispatch(self, outputs: list[Output]) -> None:
        for output in outputs:
            kind = type(output)
            if kind is Send:
                assert isinstance(output, Send)
                try:
                    self.transport.send(output.peer, output.data)
                except OSError as err:
                    log.info("send to %s failed: %s", output.peer, err)
                    if output.tx is not None and self._loop is not None:
                        # on the loop's next turn: a send that fails inside `send_request`
                        # must reach the transaction's user after it has filed the transaction
                        self._loop.call_soon(self._transport_failed, output.tx)
            elif kind is RequestReceived:
                assert isinstance(output, RequestReceived)
                tx = output.tx
                assert isinstance(tx, ServerTransaction)
                self._on_request(output.request, tx.peer, tx)
            elif self._on_event is not None:
                self._on_event(output)
            elif kind in (Timeout, TransportFailed):
                log.info("transaction %s: %s", output.tx, kind.__name__)  # type: ignore[union-attr]
            elif kind in (UnmatchedAck, UnmatchedResponse, AckReceived, ResponseReceived):
                log.debug("no one to take %s", kind.__name__)
        self._arm()

    def _arm(self) -> None:
        deadline = self.table.next_wakeup()
        if deadline is None or deadline == self._timer_at:
            return
        if self._timer_at is not None and self._timer_at <= deadline and self._timer is not None:
            return  # the armed timer fires first and re-arms for the rest
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        assert self._loop is not None
        self._dispatch(self.table.handle_timers(self._loop.time()))
