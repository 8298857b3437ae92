"""The live transactions of one process, found by key, with their deadlines in one heap.

The table is the only way in for the I/O layer and the transaction user: it matches what
arrives to a transaction (§17.1.3, §17.2.3), creates transactions, passes commands on, and
drops a transaction the moment it terminates. Every call returns the outputs (`events`) to act
on, in order.

Deadlines: each transaction is filed under its next deadline in the list of the slot (10 ms
of deadlines) it falls in, and the slots are kept in a heap of their numbers, as the location
service keeps bindings by the second. When a deadline moves, the transaction is filed again and
the old entry is left behind: an entry counts only while the deadline the transaction is filed
under (`_scheduled`) falls in its slot. Stale entries go when their slot comes due (within the
longest timer, 32 s by default). Filing is an append; the heap holds small ints, a few hundred
a second at most; no entry is a tuple the collector would walk. A heap of (deadline, sequence,
transaction) tuples cost 3 to 10 microseconds a pop at 50,000 to 100,000 entries, most of it
comparisons of tuples and floats scattered in memory. The I/O layer arms one loop timer for
`next_deadline()` and calls `handle_timers(now)` when it fires.
"""

from __future__ import annotations

from heapq import heappop, heappush
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

SLOT = 0.01  # seconds of deadlines filed together


def slot_of(deadline: float) -> int:
    return int(deadline // SLOT)


class TransactionTable:
    """Client and server transactions by key, and their deadlines by the slot."""

    __slots__ = (
        "_aliases",
        "_clients",
        "_next",
        "_next_known",
        "_servers",
        "_slot_numbers",
        "_slots",
        "timers",
    )

    def __init__(self, timers: TimerConfig = DEFAULT_TIMERS) -> None:
        self.timers = timers
        self._clients: dict[Key, ClientTransaction] = {}
        self._servers: dict[Key, ServerTransaction] = {}
        self._slots: dict[int, list[Transaction]] = {}
        self._slot_numbers: list[int] = []  # heap of the keys of `_slots`
        # the earliest deadline of a live transaction, while `_next_known`
        self._next: float | None = None
        self._next_known = True
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
        if not self._next_known:
            self._next = self._earliest()
            self._next_known = True
        return self._next

    def next_wakeup(self) -> float | None:
        """When to call `handle_timers` next: the end of the slot of the earliest deadline,
        so that one call fires every timer of the slot (each up to 10 ms late, where the
        shortest SIP timer is 500 ms), not one call for each."""
        deadline = self.next_deadline()
        return None if deadline is None else (slot_of(deadline) + 1) * SLOT

    def _earliest(self) -> float | None:
        """The earliest live deadline, from the first slot that has one (slots with stale
        entries only are dropped on the way)."""
        numbers, slots = self._slot_numbers, self._slots
        while numbers:
            number = numbers[0]
            earliest: float | None = None
            for tx in slots[number]:
                deadline = tx._scheduled
                if (
                    deadline is not None
                    and slot_of(deadline) == number
                    and (earliest is None or deadline < earliest)
                ):
                    earliest = deadline
            if earliest is not None:
                return earliest
            del slots[heappop(numbers)]
        return None

    def handle_timers(self, now: float) -> list[Output]:
        """Fire every timer due at `now`."""
        out: list[Output] = []
        numbers, slots = self._slot_numbers, self._slots
        current = slot_of(now)
        while numbers and numbers[0] <= current:
            number = heappop(numbers)
            waiting: list[Transaction] = []
            for tx in slots.pop(number):
                deadline = tx._scheduled
                if deadline is None or slot_of(deadline) != number:
                    continue  # stale: the deadline moved or the transaction ended
                if deadline > now:
                    waiting.append(tx)  # later in the slot `now` is in
                    continue
                tx._scheduled = None
                out += tx.handle_timer(now)
                self._update(tx)
            if waiting:
                self._file(number, waiting)
                break  # the slot of `now`: what is left in it is not due yet
        self._next_known = False
        return out

        # -- bookkeeping -------------------------------------------------------------------------

    def _update(self, tx: Transaction) -> None:
        """After any input: drop a terminated transaction, refile a moved deadline."""
        if tx.terminated:
            self._remove(tx)
            return
        deadline = tx.next_deadline()
        scheduled = tx._scheduled
        if deadline == scheduled:
            return
        if scheduled is not None and scheduled == self._next:
            self._next_known = False  # the earliest may be later now
        tx._scheduled = deadline
        if deadline is None:
            return
        number = slot_of(deadline)
        slot = self._slots.get(number)
        if slot is None:
            self._file(number, [tx])
        else:
            slot.append(tx)
        if self._next_known and (self._next is None or deadline < self._next):
            self._next = deadline

    def _file(self, number: int, entries: list[Transaction]) -> None:
        slot = self._slots.get(number)
        if slot is None:
            self._slots[number] = entries
            heappush(self._slot_numbers, number)
        else:
            slot.extend(entries)

    def _remove(self, tx: Transaction) -> None:
        if tx._scheduled is not None and tx._scheduled == self._next:
            self._next_known = False
        tx._scheduled = None
        server = isinstance(tx, ServerTransaction)
        table: dict[Key, Any] = self._servers if server else self._clients
        if table.get(tx.key) is tx:
            del table[tx.key]
        for alias in tx.aliases:
            if table.get(alias) is tx:
                del table[alias]
                self._aliases -= 1
