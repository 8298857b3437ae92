"""The non-INVITE server transaction: RFC 3261 §17.2.2 (every method but INVITE and ACK).

    Trying --1xx from TU--> Proceeding --200-699 from TU--> Completed --Timer J--> Terminated
      |                                                        ^
      +-------------------200-699 from TU----------------------+

The server never retransmits on its own: it answers each retransmitted request with the last
response it sent. Timer J (64*T1, 0 on reliable transports) keeps it for those.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from .base import (
    Input,
    ServerTransaction,
    Transitions,
    absorb,
    inform_transport_error,
    retransmit,
    send_tu_response,
)
from .events import Output, RequestReceived

if TYPE_CHECKING:
    from ..sip import Request
    from .timers import TransportTimers


class State(Enum):
    __hash__ = object.__hash__  # see base.Input

    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    TERMINATED = "Terminated"


# -- actions ---------------------------------------------------------------------------------


def start_j(tx: ServerNonInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # a retransmitted request gets the final response again
    tx._wait_out(tx.timers.j, Input.TIMER_J, now, out, resend=True)


S = State
I = Input  # noqa: E741

TRANSITIONS: Transitions = {
    # §17.2.2: in Trying, request retransmissions are discarded (nothing was sent yet).
    (S.TRYING, I.RECV_REQUEST): (S.TRYING, (absorb,)),
    # §17.2.2: a provisional response from the TU is sent; Proceeding.
    (S.TRYING, I.TU_1XX): (S.PROCEEDING, (send_tu_response,)),
    (S.PROCEEDING, I.TU_1XX): (S.PROCEEDING, (send_tu_response,)),
    # §17.2.2: a retransmitted request gets the most recent provisional response.
    (S.PROCEEDING, I.RECV_REQUEST): (S.PROCEEDING, (retransmit,)),
    # §17.2.2: a final response from the TU is sent; Completed, Timer J.
    (S.TRYING, I.TU_2XX): (S.COMPLETED, (send_tu_response, start_j)),
    (S.TRYING, I.TU_300_699): (S.COMPLETED, (send_tu_response, start_j)),
    (S.PROCEEDING, I.TU_2XX): (S.COMPLETED, (send_tu_response, start_j)),
    (S.PROCEEDING, I.TU_300_699): (S.COMPLETED, (send_tu_response, start_j)),
    # §17.2.2: a retransmitted request gets the final response again.
    (S.COMPLETED, I.RECV_REQUEST): (S.COMPLETED, (retransmit,)),
    # §17.2.2: "any other final responses passed by the TU ... MUST be discarded".
    (S.COMPLETED, I.TU_2XX): (S.COMPLETED, (absorb,)),
    (S.COMPLETED, I.TU_300_699): (S.COMPLETED, (absorb,)),
    # §17.2.4 as updated by RFC 6026 §8.8: report a transport failure, keep the state.
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.PROCEEDING, (inform_transport_error,)),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.COMPLETED, (inform_transport_error,)),
    # §17.2.2: Timer J fires.
    (S.COMPLETED, I.TIMER_J): (S.TERMINATED, ()),
}
# Not listed, so a bug of the TU: a 1xx after the final response.

del S, I


class ServerNonInviteTransaction(ServerTransaction):
    __slots__ = ()

    MACHINE = "non-INVITE server transaction"
    TRANSITIONS = TRANSITIONS
    TERMINATED = State.TERMINATED
    RETRANSMIT = None  # the server does not retransmit on its own

    def __init__(
        self,
        request: Request,
        peer: Any,
        key: tuple[Any, ...],
        timers: TransportTimers,
        reliable: bool = False,
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise ValueError(f"a {request.method} does not get a non-INVITE server transaction")
        super().__init__(request, peer, key, timers, reliable, State.TRYING)

    def start(self, now: float) -> list[Output]:
        """Enter Trying and pass the request to the TU (§17.2.2)."""
        return [RequestReceived(self, self.request)]
