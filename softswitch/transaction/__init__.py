"""RFC 3261 §17 transactions (with RFC 6026), sans-I/O: fed messages and the time, they return
datagrams to send and events for the transaction user (TU).

How the I/O layer drives it, one `TransactionTable` per process:

    table = TransactionTable(TimerConfig())

    # a datagram or framed message arrived from `peer` (reliable: it came over TCP/TLS/WS)
    message = parse_message(data)
    if isinstance(message, Request):
        outputs = table.receive_request(message, peer, loop.time(), reliable=reliable)
    else:
        outputs = table.receive_response(message, loop.time())

    # the TU sends a request, or answers one
    tx, outputs = table.send_request(request, peer, loop.time(), reliable=reliable)
    outputs = table.send_response(server_tx, response, loop.time())

    # after every call: act on the outputs, then re-arm the single loop timer
    for output in outputs:
        if type(output) is Send:
            transport.send(output.peer, output.data)  # on failure:
            # outputs += table.transport_error(output.tx, loop.time())
        else:
            tu.handle(output)  # RequestReceived, ResponseReceived, AckReceived, UnmatchedAck,
                               # UnmatchedResponse, Timeout, TransportFailed, Terminated, Discarded
    deadline = table.next_deadline()
    # one loop.call_at(deadline, fire) handle, replaced when the deadline moves; fire() does
    #     outputs = table.handle_timers(loop.time()) and handles them the same way

`peer` is opaque to the transactions: whatever the transport needs to reach the other side
(keep it plain data, so that no reference cycle runs through a transaction). Times are seconds
on one monotonic clock (`loop.time()`). Nothing here sleeps, reads a clock or opens a socket.
"""

from .base import ClientTransaction, Input, ServerTransaction, Transaction
from .branch import branch
from .cancel import build_cancel
from .client_invite import ClientInviteTransaction, build_ack
from .client_non_invite import ClientNonInviteTransaction
from .errors import InvalidTransition, StrayMessage, TransactionError
from .events import (
    AckReceived,
    Discarded,
    Output,
    RequestReceived,
    ResponseReceived,
    Send,
    Terminated,
    Timeout,
    TransportFailed,
    UnmatchedAck,
    UnmatchedResponse,
)
from .matching import (
    MAGIC_COOKIE,
    cancel_target_key,
    client_key,
    cookie_server_key,
    is_rfc3261_branch,
    legacy_ack_key,
    response_key,
    server_key,
)
from .server_invite import ServerInviteTransaction
from .server_non_invite import ServerNonInviteTransaction
from .table import TransactionTable
from .timers import DEFAULT_TIMERS, TimerConfig, TransportTimers

__all__ = [
    "DEFAULT_TIMERS",
    "MAGIC_COOKIE",
    "AckReceived",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "ClientTransaction",
    "Discarded",
    "Input",
    "InvalidTransition",
    "Output",
    "RequestReceived",
    "ResponseReceived",
    "Send",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "ServerTransaction",
    "StrayMessage",
    "Terminated",
    "Timeout",
    "TimerConfig",
    "Transaction",
    "TransactionError",
    "TransactionTable",
    "TransportFailed",
    "TransportTimers",
    "UnmatchedAck",
    "UnmatchedResponse",
    "branch",
    "build_ack",
    "build_cancel",
    "cancel_target_key",
    "client_key",
    "cookie_server_key",
    "is_rfc3261_branch",
    "legacy_ack_key",
    "response_key",
    "server_key",
]
