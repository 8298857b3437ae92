"""The INVITE server transaction: RFC 3261 §17.2.1, with the Accepted state of RFC 6026 §8.5-8.8.

    Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated
        |                               |
        |                               +--Timer H (no ACK)--> Terminated
        +--2xx from TU--> Accepted (INVITEs absorbed, ACKs passed up) --Timer L--> Terminated

A 300-699 response is sent again on Timer G (unreliable transports) until the ACK arrives. A 2xx
is sent once: its retransmissions are the TU's (§13.3.1.4), or a proxy's forwarding of the
retransmissions it receives. A transport failure is reported and the state is kept (RFC 6026
§8.8). The TU must send a provisional (100 Trying) or final response within 200 ms; a
retransmitted INVITE that finds nothing sent yet is answered with a 100 Trying from here.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from ..sip import make_response
from .base import (
    Input,
    ServerTransaction,
    Transitions,
    absorb,
    double_interval_up_to_t2,
    inform_transport_error,
    retransmit,
    send_tu_response,
    stop_retransmit,
)
from .events import AckReceived, Output, RequestReceived, Send, Timeout

if TYPE_CHECKING:
    from ..sip import Request
    from .timers import TransportTimers


class State(Enum):
    __hash__ = object.__hash__  # see base.Input

    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


# -- actions ---------------------------------------------------------------------------------


def answer_retransmission(
    tx: ServerInviteTransaction, message: Any, now: float, out: list[Output]
) -> None:
    """§17.2.1: the last provisional response again; a 100 Trying if the TU sent none yet
    (the retransmission proves the TU did not answer within 200 ms)."""
    if not tx.data:
        tx.data = make_response(tx.request, 100).to_bytes()
    out.append(Send(tx.peer, tx.data, tx))


def start_g_and_h(tx: ServerInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    """§17.2.1: entering Completed: Timer G (T1, unreliable only), Timer H (64*T1)."""
    tx._start_retransmit(tx.timers.g, now)
    tx._start_timeout(tx.timers.h, Input.TIMER_H, now, out)


def timeout_h(tx: ServerInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    out.append(Timeout(tx, "H"))


def start_i(tx: ServerInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # Confirmed only absorbs what comes again: the final response is not sent any more
    tx._wait_out(tx.timers.i, Input.TIMER_I, now, out, resend=False)


def start_l(tx: ServerInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # retransmitted INVITEs are absorbed; a 2xx is sent again only when the TU sends it
    tx._wait_out(tx.timers.l, Input.TIMER_L, now, out, resend=False)


def pass_ack_up(tx: ServerInviteTransaction, ack: Any, now: float, out: list[Output]) -> None:
    out.append(AckReceived(tx, ack))


S = State
I = Input  # noqa: E741

TRANSITIONS: Transitions = {
    # §17.2.1: a retransmitted INVITE gets the most recent provisional response.
    (S.PROCEEDING, I.RECV_REQUEST): (S.PROCEEDING, (answer_retransmission,)),
    # §17.2.1: provisional responses from the TU are sent, not retransmitted, state unchanged.
    (S.PROCEEDING, I.TU_1XX): (S.PROCEEDING, (send_tu_response,)),
    # RFC 6026 §8.5: a 2xx from the TU is sent once; the transaction moves to Accepted, Timer L.
    (S.PROCEEDING, I.TU_2XX): (S.ACCEPTED, (send_tu_response, start_l)),
    # §17.2.1: a 300-699 from the TU is sent; Completed, Timer G (unreliable) and Timer H.
    (S.PROCEEDING, I.TU_300_699): (S.COMPLETED, (send_tu_response, start_g_and_h)),
    # RFC 6026 §8.8: a transport failure is reported to the TU; the state does not change.
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.PROCEEDING, (inform_transport_error,)),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.COMPLETED, (inform_transport_error,)),
    (S.ACCEPTED, I.TRANSPORT_ERROR): (S.ACCEPTED, (inform_transport_error,)),
    # §17.2.1: Timer G: the final response again, next interval MIN(2*G, T2).
    (S.COMPLETED, I.TIMER_G): (S.COMPLETED, (retransmit, double_interval_up_to_t2)),
    # §17.2.1: a retransmitted INVITE in Completed gets the final response again.
    (S.COMPLETED, I.RECV_REQUEST): (S.COMPLETED, (retransmit,)),
    # §17.2.1: the ACK: retransmissions of the response cease; Confirmed, Timer I.
    (S.COMPLETED, I.RECV_ACK): (S.CONFIRMED, (stop_retransmit, start_i)),
    # §17.2.1: Timer H: the ACK never came; the TU is told of the failure.
    (S.COMPLETED, I.TIMER_H): (S.TERMINATED, (timeout_h,)),
    # §17.2.1: Confirmed absorbs further ACKs (and INVITEs delayed in the network).
    (S.CONFIRMED, I.RECV_ACK): (S.CONFIRMED, (absorb,)),
    (S.CONFIRMED, I.RECV_REQUEST): (S.CONFIRMED, (absorb,)),
    # §17.2.1: Timer I fires.
    (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, ()),
    # RFC 6026 §8.7: retransmitted INVITEs are absorbed in Accepted, not passed to the TU.
    (S.ACCEPTED, I.RECV_REQUEST): (S.ACCEPTED, (absorb,)),
    # RFC 6026 §8.7: an ACK (for the 2xx) that matches is passed up to the TU.
    (S.ACCEPTED, I.RECV_ACK): (S.ACCEPTED, (pass_ack_up,)),
    # RFC 6026 §8.7: 2xx from the TU (its retransmissions, other forks) are sent.
    (S.ACCEPTED, I.TU_2XX): (S.ACCEPTED, (send_tu_response,)),
    # RFC 6026 §8.7: Timer L fires.
    (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, ()),
}
# Not listed, so dropped as strays: an ACK in Proceeding (nothing final was sent). Not listed,
# so a bug of the TU: any response after a 300-699, a 1xx or 300-699 after a 2xx.

del S, I


class ServerInviteTransaction(ServerTransaction):
    __slots__ = ()

    MACHINE = "INVITE server transaction"
    TRANSITIONS = TRANSITIONS
    TERMINATED = State.TERMINATED
    RETRANSMIT = Input.TIMER_G

    def __init__(
        self,
        request: Request,
        peer: Any,
        key: tuple[Any, ...],
        timers: TransportTimers,
        reliable: bool = False,
    ) -> None:
        if request.method != "INVITE":
            raise ValueError(f"a {request.method} does not get an INVITE server transaction")
        super().__init__(request, peer, key, timers, reliable, State.PROCEEDING)

    def start(self, now: float) -> list[Output]:
        """Enter Proceeding and pass the INVITE to the TU (§17.2.1)."""
        return [RequestReceived(self, self.request)]
