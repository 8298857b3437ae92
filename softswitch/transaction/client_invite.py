"""The INVITE client transaction: RFC 3261 §17.1.1, with the Accepted state of RFC 6026 §8.4.

    Calling --1xx--> Proceeding --300-699 (ACK sent)--> Completed --Timer D--> Terminated
       |                 |
       +------2xx--------+--> Accepted (further 2xx passed up) --Timer M--> Terminated

The ACK for a 300-699 response is built here (§17.1.1.3) and is what the transaction sent last,
so a retransmitted final response is answered by sending the same bytes again. The ACK for a
2xx is not: the TU sends it, as a transaction of its own.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from ..sip import Request, Response
from ..sip.headers import header_key
from .base import (
    ClientTransaction,
    Input,
    Transitions,
    double_interval,
    inform_transport_error,
    pass_up,
    retransmit,
    stop_timers,
)
from .events import Output, Send, Timeout

if TYPE_CHECKING:
    from .timers import TransportTimers


class State(Enum):
    __hash__ = object.__hash__  # see base.Input

    CALLING = "Calling"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK for a 300-699 response to `invite` (§17.1.1.3).

    Request-URI, Call-ID, From and the CSeq number of the INVITE, method ACK; To of the
    response (with its tag); one Via, the INVITE's top one; the INVITE's Route header fields.
    """
    ack = Request("ACK", invite.uri)
    ack.add_header("Via", invite.header_values("via")[0])
    max_forwards = invite.header("max-forwards")
    if max_forwards is not None:
        ack.add_header("Max-Forwards", max_forwards)
    for name, value in invite.fields():
        if header_key(name) == "route":
            ack.add_header(name, value)
    ack.add_header("From", _required(invite.header("from")))
    ack.add_header("To", _required(response.header("to")))
    ack.add_header("Call-ID", invite.call_id)
    ack.add_header("CSeq", f"{invite.cseq.number} ACK")
    return ack


def _required(value: str | None) -> str:
    assert value is not None  # parse_message checked From and To exist
    return value


# -- actions ---------------------------------------------------------------------------------


def send_ack(tx: ClientInviteTransaction, response: Any, now: float, out: list[Output]) -> None:
    """Build the ACK once; it replaces the INVITE as the bytes to send again."""
    tx.data = build_ack(tx.request, response).to_bytes()
    out.append(Send(tx.peer, tx.data, tx))


def resend_ack(tx: ClientInviteTransaction, response: Any, now: float, out: list[Output]) -> None:
    out.append(Send(tx.peer, tx.data, tx))


def timeout_b(tx: ClientInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    out.append(Timeout(tx, "B"))


def start_d(tx: ClientInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # a retransmitted final response gets the ACK again
    tx._wait_out(tx.timers.d, Input.TIMER_D, now, out, resend=True)


def start_m(tx: ClientInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # further 2xx are passed up; the INVITE is not sent again
    tx._wait_out(tx.timers.m, Input.TIMER_M, now, out, resend=False)


S = State
I = Input  # noqa: E741

TRANSITIONS: Transitions = {
    # §17.1.1.2: Timer A fires: retransmit, reset A with twice the interval.
    (S.CALLING, I.TIMER_A): (S.CALLING, (retransmit, double_interval)),
    # §17.1.1.2: Timer B fires in Calling: inform the TU of the timeout, no ACK.
    (S.CALLING, I.TIMER_B): (S.TERMINATED, (timeout_b,)),
    # §17.1.4: a transport failure is reported to the TU, the transaction ends.
    (S.CALLING, I.TRANSPORT_ERROR): (S.TERMINATED, (inform_transport_error,)),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (inform_transport_error,)),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, (inform_transport_error,)),
    # §17.1.1.2: a provisional response stops retransmissions and goes to the TU.
    (S.CALLING, I.RECV_1XX): (S.PROCEEDING, (stop_timers, pass_up)),
    (S.PROCEEDING, I.RECV_1XX): (S.PROCEEDING, (pass_up,)),
    # RFC 6026 §8.4: a 2xx goes to the TU and the transaction waits in Accepted (Timer M).
    (S.CALLING, I.RECV_2XX): (S.ACCEPTED, (stop_timers, pass_up, start_m)),
    (S.PROCEEDING, I.RECV_2XX): (S.ACCEPTED, (pass_up, start_m)),
    # RFC 6026 §8.4: further 2xx (retransmissions, other forks) go to the TU, no ACK here.
    (S.ACCEPTED, I.RECV_2XX): (S.ACCEPTED, (pass_up,)),
    # RFC 6026 §8.4: Timer M fires in Accepted.
    (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, ()),
    # §17.1.1.2: 300-699: response to the TU, ACK sent even on reliable transports, Timer D.
    (S.CALLING, I.RECV_300_699): (S.COMPLETED, (stop_timers, pass_up, send_ack, start_d)),
    (S.PROCEEDING, I.RECV_300_699): (S.COMPLETED, (pass_up, send_ack, start_d)),
    # §17.1.1.2: a retransmitted final response: the ACK again, not passed to the TU.
    (S.COMPLETED, I.RECV_300_699): (S.COMPLETED, (resend_ack,)),
    # §17.1.1.2: Timer D fires in Completed.
    (S.COMPLETED, I.TIMER_D): (S.TERMINATED, ()),
}
# Not listed, so dropped as strays: a 1xx or 2xx after a 300-699 (Completed), a 1xx or a
# 300-699 after a 2xx (Accepted). The RFC defines none of them.

del S, I


class ClientInviteTransaction(ClientTransaction):
    __slots__ = ()

    MACHINE = "INVITE client transaction"
    TRANSITIONS = TRANSITIONS
    TERMINATED = State.TERMINATED
    RETRANSMIT = Input.TIMER_A

    def __init__(
        self,
        request: Request,
        peer: Any,
        key: tuple[Any, ...],
        timers: TransportTimers,
        reliable: bool = False,
        data: bytes | None = None,
    ) -> None:
        super().__init__(request, peer, key, timers, reliable, State.CALLING)
        self.data = data if data is not None else request.to_bytes()

    def start(self, now: float) -> list[Output]:
        """Enter Calling (§17.1.1.2): send the INVITE, start Timer A (unreliable) and B."""
        self._start_retransmit(self.timers.a, now)
        self._timeout_at = now + self.timers.b
        self._timeout_input = Input.TIMER_B
        return [Send(self.peer, self.data, self)]
