"""What the transaction layer hands back: datagrams to send and events for the transaction user.

Every call into a transaction or the table returns a list of these, in the order they happened.
`Send` is for the I/O layer; the others are for the transaction user (TU: the proxy core, a UA
core, the registrar). They hold a reference to their transaction only for as long as the caller
keeps them; a transaction never refers back to its owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sip import Request, Response
    from .base import Transaction


@dataclass(slots=True, eq=False)
class Send:
    """Pass `data` to the transport, to `peer` (the opaque destination given at creation).

    `tx` is the transaction that sent it, or None; report a failure to send it with
    `TransactionTable.transport_error(tx, now)`.
    """

    peer: Any
    data: bytes
    tx: Transaction | None = None


@dataclass(slots=True, eq=False)
class RequestReceived:
    """A new request, with the server transaction created for it (§17.2.1, §17.2.2)."""

    tx: Transaction
    request: Request


@dataclass(slots=True, eq=False)
class ResponseReceived:
    """A response a client transaction passes up: 1xx, the final one, a 2xx in Accepted."""

    tx: Transaction
    response: Response


@dataclass(slots=True, eq=False)
class AckReceived:
    """An ACK for a 2xx that matched an INVITE server transaction in Accepted (RFC 6026 §8.7).

    The transaction does nothing with it: a proxy forwards it, a UAS core takes it.
    """

    tx: Transaction
    request: Request


@dataclass(slots=True, eq=False)
class UnmatchedAck:
    """An ACK that matches no server transaction: the ACK for a 2xx, which carries a branch of
    its own (§17.1.1.3 note, §13.2.2.4). It belongs to the TU (a proxy forwards it, §16.10)."""

    request: Request


@dataclass(slots=True, eq=False)
class UnmatchedResponse:
    """A response that matches no client transaction (§17.1.1.2 last paragraph, §16.7 step 1)."""

    response: Response


@dataclass(slots=True, eq=False)
class Timeout:
    """Timer B, F or H fired: no response (B, F) or no ACK (H) arrived in time."""

    tx: Transaction
    timer: str


@dataclass(slots=True, eq=False)
class TransportFailed:
    """The transport could not send for this transaction (§17.1.4, §17.2.4)."""

    tx: Transaction


@dataclass(slots=True, eq=False)
class Terminated:
    """The transaction has ended and left the table."""

    tx: Transaction


@dataclass(slots=True, eq=False)
class Discarded:
    """A message matched `tx` but has no transition in its state (`StrayMessage`); dropped."""

    tx: Transaction
    message: Request | Response | None
    reason: str


Output = (
    Send
    | RequestReceived
    | ResponseReceived
    | AckReceived
    | UnmatchedAck
    | UnmatchedResponse
    | Timeout
    | TransportFailed
    | Terminated
    | Discarded
)
