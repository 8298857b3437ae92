"""The live transactions of one process, found by key, with their deadlines in one heap.

The table is the only way in for the I/O layer and the transaction user: it matches what
arrives to a transaction (§17.1.3, §17.2.3), creates transactions, passes commands on, and
drops a transaction the moment it terminates. Every call returns the outputs (`events`) to act
on, in order.

Deadlines: each transaction is filed in one heap under its next deadline, as
`(deadline, sequence, transaction)`. When a deadline moves, a new entry is pushed and the old one
is left behind: an entry counts only while its deadline is still the one the transaction is
filed under (`_scheduled`). Stale entries fall out as they reach the top (within the longest
timer, 32 s by default), and the heap is rebuilt without them whenever it has doubled since
the last rebuild, which keeps the cost of rebuilding proportional to the pushes. The I/O layer
arms one loop timer for `next_deadline()` and calls `handle_timers(now)` when it fires.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import TYPE_CHECKING, Any

from ..sip import SipError
from .base import ClientTransaction, ServerTransaction, Transaction
from .client_invite import ClientInviteTransaction
from .client_non_invite import ClientNonInviteTransaction
from .errors import StrayMessage
from .events import Discarded, Output, UnmatchedAck, UnmatchedResponse
from .matching import (
    Key,
    cancel_target_key,
    client_key,
    is_legacy_key,
    legacy_ack_key,
    response_key,
    server_key,
)
from .server_invite import ServerInviteTransaction
from .server_non_invite import ServerNonInviteTransaction
from .timers import DEFAULT_TIMERS, TimerConfig

if TYPE_CHECKING:
    from ..sip import Request, Response

_MIN_COMPACT = 1024  # below this many heap entries, stale ones are not worth a rebuild


class TransactionTable:
    """Client and server transactions by key, and the one heap of their deadlines."""

    __slots__ = ("_aliases", "_clients", "_compact_at", "_heap", "_sequence", "_servers", "timers")

    def __init__(self, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        self.timers = timers
        self._clients: dict[Key, ClientTransaction] = {}
        self._servers: dict[Key, ServerTransaction] = {}
        self._heap: list[tuple[float, int, Transaction]] = []
        self._sequence = 0
        self._compact_at = _MIN_COMPACT  # heap size that triggers dropping stale entries
        self._aliases = 0  # second keys of RFC 2543 INVITE transactions in _servers

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers) - self._aliases

    def client(self, key: Key) -> ClientTransaction | None:
        return self._clients.get(key)

    def server(self, key: Key) -> ServerTransaction | None:
        return self._servers.get(key)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def server_count(self) -> int:
        return len(self._servers) - self._aliases

    # -- client side (§17.1) -----------------------------------------------------------------

    def send_request(
        self,
        request: Request,
        peer: Any,
        now: float,
        *,
        reliable: bool = False,
        data: bytes | None = None,
    ) -> tuple[ClientTransaction, list[Output]]:
        """Create the client transaction for `request` (its top Via carries our new branch) and
        send it to `peer`. `data` is the request's wire form when the caller already has it."""
        if request.method == "ACK":
            raise ValueError("an ACK has no client transaction (§17.1); send it directly")
        key = client_key(request)
        if key in self._clients:
            raise ValueError(f"a client transaction with key {key} is already running")
        cls = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        tx = cls(request, peer, key, self.timers.for_transport(reliable), reliable, data)
        self._clients[key] = tx
        out = tx.start(now)
        self._update(tx)
        return tx, out

    def receive_response(self, response: Response, now: float) -> list[Output]:
        """A response from the network: to its client transaction, or `UnmatchedResponse`."""
        key = response_key(response)
        tx = self._clients.get(key) if key is not None else None
        if tx is None:
            return [UnmatchedResponse(response)]
        try:
            out = tx.receive_response(response, now)
        except StrayMessage as stray:
            return [Discarded(tx, response, str(stray))]
        self._update(tx)
        return out

    # -- server side (§17.2) -----------------------------------------------------------------

    def receive_request(
        self, request: Request, peer: Any, now: float, *, reliable: bool = False
    ) -> list[Output]:
        """A request from the network, arrived from `peer`.

        A retransmission goes to its transaction (which may answer it with a `Send`); an ACK
        to its INVITE transaction, or `UnmatchedAck`; any other request gets a new server
        transaction and is returned as `RequestReceived`.
        """
        key = server_key(request)
        tx = self._servers.get(key)
        if tx is None:
            if request.method == "ACK":
                return [UnmatchedAck(request)]
            timers = self.timers.for_transport(reliable)
            if request.method == "INVITE":
                tx = ServerInviteTransaction(request, peer, key, timers, reliable)
            else:
                tx = ServerNonInviteTransaction(request, peer, key, timers, reliable)
            self._servers[key] = tx
            return tx.start(now)
        try:
            out = tx.receive_request(request, now)
        except StrayMessage as stray:
            return [Discarded(tx, request, str(stray))]
        self._update(tx)
        return out

    def send_response(
        self, tx: ServerTransaction, response: Response, now: float, *, data: bytes | None = None
    ) -> list[Output]:
        """Send the TU's response on its server transaction."""
        out = tx.send_response(response, now, data)
        if response.status >= 200 and is_legacy_key(tx.key) and type(tx) is ServerInviteTransaction:
            # An RFC 2543 INVITE: its ACK will carry this response's To tag (§17.2.3).
            try:
                to_tag = response.to_addr.tag
            except SipError:
                to_tag = None  # a relayed response with a To we cannot read: no second key
            alias = legacy_ack_key(tx.request, to_tag)
            if alias is not None and alias not in tx.aliases and not tx.terminated:
                tx.aliases += (alias,)
                self._servers[alias] = tx
                self._aliases += 1
        self._update(tx)
        return out

    def cancel_target(self, cancel: Request) -> ServerInviteTransaction | None:
        """The INVITE server transaction a received CANCEL names (§9.2), if it is live."""
        tx = self._servers.get(cancel_target_key(cancel))
        return tx if type(tx) is ServerInviteTransaction else None

    # -- both --------------------------------------------------------------------------------

    def transport_error(self, tx: Transaction, now: float) -> list[Output]:
        """The transport failed to send a `Send` of `tx`."""
        if tx.terminated:
            return []
        try:
            out = tx.transport_error(now)
        except StrayMessage as stray:
            return [Discarded(tx, None, str(stray))]
        self._update(tx)
        return out

    def abandon(self, tx: Transaction) -> None:
        """Forget a transaction its user has given up on, e.g. an INVITE whose CANCEL got no
        final response within 64*T1 (§9.1): in Proceeding it has no timer of its own."""
        if not tx.terminated:
            tx.terminated = True
            self._remove(tx)

    def next_deadline(self) -> float | None:
        """The earliest deadline of any live transaction."""
        heap = self._heap
        while heap:
            deadline, _, tx = heap[0]
            if tx._scheduled == deadline:
                return deadline
            heappop(heap)
        return None

    def handle_timers(self, now: float) -> list[Output]:
        """Fire every timer due at `now`."""
        out: list[Output] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, tx = heappop(heap)
            if tx._scheduled != deadline:
                continue  # stale: the deadline moved or the transaction ended
            tx._scheduled = None
            out += tx.handle_timer(now)
            self._update(tx)
        return out

    # -- bookkeeping -------------------------------------------------------------------------

    def _update(self, tx: Transaction) -> None:
        """After any input: drop a terminated transaction, refile a moved deadline."""
        if tx.terminated:
            self._remove(tx)
            return
        deadline = tx.next_deadline()
        if deadline == tx._scheduled:
            return
        tx._scheduled = deadline
        if deadline is not None:
            self._sequence += 1
            heap = self._heap
            heappush(heap, (deadline, self._sequence, tx))
            if len(heap) > self._compact_at:
                self._compact()

    def _remove(self, tx: Transaction) -> None:
        tx._scheduled = None
        server = isinstance(tx, ServerTransaction)
        table: dict[Key, Any] = self._servers if server else self._clients
        if table.get(tx.key) is tx:
            del table[tx.key]
        for alias in tx.aliases:
            if table.get(alias) is tx:
                del table[alias]
                self._aliases -= 1

    def _compact(self) -> None:
        """Rebuild the heap from its live entries; the next rebuild waits until it has doubled,
        so the cost stays proportional to the pushes.

        The entries are moved as the objects they are, in the list they are in: compiled, a
        read of a typed tuple unpacks it and a write packs a new one, and new tuples (or a new
        list) of every live entry are young objects the next young collection walks, 7 to 38
        ms for 8,000 to 31,000 of them in the serving process, where the old ones are frozen."""
        heap: list[Any] = self._heap
        live = 0
        for entry in heap:
            if entry[2]._scheduled == entry[0]:
                heap[live] = entry
                live += 1
        del heap[live:]
        heapify(heap)
        self._compact_at = max(_MIN_COMPACT, 2 * live)
