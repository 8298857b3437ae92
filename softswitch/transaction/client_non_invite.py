"""The non-INVITE client transaction: RFC 3261 §17.1.2 (every method but INVITE and ACK).

    Trying --1xx--> Proceeding --200-699--> Completed --Timer K--> Terminated
      |                                        ^
      +----------------200-699-----------------+

On an unreliable transport the request is sent again on Timer E, at intervals doubling from T1
up to T2 in Trying and at T2 in Proceeding; Timer F (64*T1) ends the wait. A CANCEL is one of
these, sent with the branch of the INVITE it cancels (§9.1).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any

from .base import (
    ClientTransaction,
    Input,
    Transitions,
    absorb,
    double_interval_up_to_t2,
    inform_transport_error,
    pass_up,
    retransmit,
    stop_timers,
)
from .events import Output, Send, Timeout

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


def interval_t2(
    tx: ClientNonInviteTransaction, message: Any, now: float, out: list[Output]
) -> None:
    """Timer E in Proceeding: reset with T2 (§17.1.2.2)."""
    tx._interval = tx.timers.t2
    tx._retransmit_at = now + tx._interval


def timeout_f(tx: ClientNonInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    out.append(Timeout(tx, "F"))


def start_k(tx: ClientNonInviteTransaction, message: Any, now: float, out: list[Output]) -> None:
    # response retransmissions are absorbed; the request is not sent again
    tx._wait_out(tx.timers.k, Input.TIMER_K, now, out, resend=False)


S = State
I = Input  # noqa: E741

TRANSITIONS: Transitions = {
    # §17.1.2.2: Timer E in Trying: retransmit, next interval MIN(2*E, T2).
    (S.TRYING, I.TIMER_E): (S.TRYING, (retransmit, double_interval_up_to_t2)),
    # §17.1.2.2: Timer E in Proceeding: retransmit, next interval T2.
    (S.PROCEEDING, I.TIMER_E): (S.PROCEEDING, (retransmit, interval_t2)),
    # §17.1.2.2: Timer F fires: inform the TU of the timeout.
    (S.TRYING, I.TIMER_F): (S.TERMINATED, (timeout_f,)),
    (S.PROCEEDING, I.TIMER_F): (S.TERMINATED, (timeout_f,)),
    # §17.1.4: a transport failure is reported to the TU, the transaction ends.
    (S.TRYING, I.TRANSPORT_ERROR): (S.TERMINATED, (inform_transport_error,)),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, (inform_transport_error,)),
    # §17.1.2.2: provisional responses go to the TU; retransmissions continue (at T2).
    (S.TRYING, I.RECV_1XX): (S.PROCEEDING, (pass_up,)),
    (S.PROCEEDING, I.RECV_1XX): (S.PROCEEDING, (pass_up,)),
    # §17.1.2.2: a final response goes to the TU; Completed waits Timer K (T4, 0 if reliable).
    (S.TRYING, I.RECV_2XX): (S.COMPLETED, (stop_timers, pass_up, start_k)),
    (S.TRYING, I.RECV_300_699): (S.COMPLETED, (stop_timers, pass_up, start_k)),
    (S.PROCEEDING, I.RECV_2XX): (S.COMPLETED, (stop_timers, pass_up, start_k)),
    (S.PROCEEDING, I.RECV_300_699): (S.COMPLETED, (stop_timers, pass_up, start_k)),
    # §17.1.2.2: Completed "buffers any additional response retransmissions".
    (S.COMPLETED, I.RECV_1XX): (S.COMPLETED, (absorb,)),
    (S.COMPLETED, I.RECV_2XX): (S.COMPLETED, (absorb,)),
    (S.COMPLETED, I.RECV_300_699): (S.COMPLETED, (absorb,)),
    # §17.1.2.2: Timer K fires.
    (S.COMPLETED, I.TIMER_K): (S.TERMINATED, ()),
}

del S, I


class ClientNonInviteTransaction(ClientTransaction):
    __slots__ = ()

    MACHINE = "non-INVITE client transaction"
    TRANSITIONS = TRANSITIONS
    TERMINATED = State.TERMINATED
    RETRANSMIT = Input.TIMER_E

    def __init__(
        self,
        request: Request,
        peer: Any,
        key: tuple[Any, ...],
        timers: TransportTimers,
        reliable: bool = False,
        data: bytes | None = None,
    ) -> None:
        if request.method in ("INVITE", "ACK"):
            raise ValueError(f"a {request.method} does not get a non-INVITE client transaction")
        super().__init__(request, peer, key, timers, reliable, State.TRYING)
        self.data = data if data is not None else request.to_bytes()

    def start(self, now: float) -> list[Output]:
        """Enter Trying (§17.1.2.2): send the request, start Timer E (unreliable) and F."""
        self._start_retransmit(self.timers.e, now)
        self._timeout_at = now + self.timers.f
        self._timeout_input = Input.TIMER_F
        return [Send(self.peer, self.data, self)]
