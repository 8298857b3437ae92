"""What the four transaction state machines share: the inputs, the stepping engine, the timers.

A machine is a subclass with a `State` enum and a `TRANSITIONS` table

    {(state, input): (next_state, (action, ...))}

Each action is a plain function `action(tx, message, now, out)` that appends what it produces
to `out`. `_step` looks the pair up, moves to the next state and runs the actions in order; a
missing pair raises `StrayMessage` when the input came from the network and
`InvalidTransition` when it came from our side (see `errors`). Entering the terminal state
clears the timers and reports `Terminated`.

A transaction has at most two timers running at once, a retransmission timer (A, E or G) and a
timeout (B, D, F, H, I, J, K, L or M), so it keeps two deadlines and no timer objects. The
owner asks `next_deadline()` and calls `handle_timer(now)` when it has passed.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, ClassVar

from .errors import InvalidTransition, StrayMessage
from .events import Output, ResponseReceived, Send, Terminated, TransportFailed

if TYPE_CHECKING:
    from ..sip import Request, Response
    from .timers import TransportTimers


class Input(Enum):
    """Everything that can happen to a transaction."""

    # Members are singletons, so identity is a correct hash; Enum's own __hash__ is Python code,
    # and every step hashes a (state, input) pair.
    __hash__ = object.__hash__

    # from the network
    RECV_1XX = auto()
    RECV_2XX = auto()
    RECV_300_699 = auto()
    RECV_REQUEST = auto()  # a retransmission of the request that created a server transaction
    RECV_ACK = auto()
    TRANSPORT_ERROR = auto()
    # from the transaction user
    TU_1XX = auto()
    TU_2XX = auto()
    TU_300_699 = auto()
    # timers
    TIMER_A = auto()
    TIMER_B = auto()
    TIMER_D = auto()
    TIMER_E = auto()
    TIMER_F = auto()
    TIMER_G = auto()
    TIMER_H = auto()
    TIMER_I = auto()
    TIMER_J = auto()
    TIMER_K = auto()
    TIMER_L = auto()
    TIMER_M = auto()


FROM_NETWORK = frozenset(
    {
        Input.RECV_1XX,
        Input.RECV_2XX,
        Input.RECV_300_699,
        Input.RECV_REQUEST,
        Input.RECV_ACK,
        Input.TRANSPORT_ERROR,
    }
)

Action = Callable[[Any, Any, float, list[Output]], None]
Transitions = dict[tuple[Any, Input], tuple[Any, tuple[Action, ...]]]


def received(status: int) -> Input:
    if status < 200:
        return Input.RECV_1XX
    return Input.RECV_2XX if status < 300 else Input.RECV_300_699


def from_tu(status: int) -> Input:
    if status < 200:
        return Input.TU_1XX
    return Input.TU_2XX if status < 300 else Input.TU_300_699


class Transaction:
    """One transaction. `key` is its matching key (see `matching`), `request` the request that
    created it, `peer` the opaque destination of everything it sends, `data` the bytes it sent
    last (serialized once, sent again as they are)."""

    __slots__ = (
        "_interval",
        "_retransmit_at",
        "_scheduled",
        "_timeout_at",
        "_timeout_input",
        "aliases",
        "data",
        "key",
        "peer",
        "reliable",
        "request",
        "state",
        "terminated",
        "timers",
    )

    MACHINE: ClassVar[str]
    TRANSITIONS: ClassVar[Transitions]
    TERMINATED: ClassVar[Any]
    RETRANSMIT: ClassVar[Input | None]  # what the retransmission timer delivers, if it has one

    def __init__(
        self,
        request: Request,
        peer: Any,
        key: tuple[Any, ...],
        timers: TransportTimers,
        reliable: bool,
        state: Any,
    ) -> None:
        self.request = request
        self.peer = peer
        self.key = key
        self.timers = timers
        self.reliable = reliable
        self.state = state
        self.terminated = False
        self.data = b""
        self.aliases: tuple[tuple[Any, ...], ...] = ()  # extra keys, kept by the table
        self._retransmit_at: float | None = None
        self._interval = 0.0
        self._timeout_at: float | None = None
        self._timeout_input = Input.TIMER_B
        self._scheduled: float | None = None  # the deadline the table has filed it under

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.name} {self.key!r}>"

    # -- inputs common to every machine ------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When `handle_timer` next has work to do, or None."""
        retransmit = self._retransmit_at
        timeout = self._timeout_at
        if retransmit is None:
            return timeout
        if timeout is None or retransmit < timeout:
            return retransmit
        return timeout

    def handle_timer(self, now: float) -> list[Output]:
        """Fire the timers whose deadline is `now` or earlier (a timeout before a retransmit)."""
        out: list[Output] = []
        timeout = self._timeout_at
        if timeout is not None and now >= timeout:
            self._timeout_at = None
            self._step(self._timeout_input, None, now, out)
        retransmit = self._retransmit_at
        if retransmit is not None and now >= retransmit:
            self._retransmit_at = None
            assert self.RETRANSMIT is not None
            self._step(self.RETRANSMIT, None, now, out)
        return out

    def transport_error(self, now: float) -> list[Output]:
        """The transport failed to send something of ours (§17.1.4, §17.2.4)."""
        out: list[Output] = []
        self._step(Input.TRANSPORT_ERROR, None, now, out)
        return out

    # -- the engine --------------------------------------------------------------------------

    def _step(self, event: Input, message: Any, now: float, out: list[Output]) -> None:
        try:
            next_state, actions = self.TRANSITIONS[(self.state, event)]
        except KeyError:
            if event in FROM_NETWORK:
                raise StrayMessage(self.MACHINE, self.state, event, message) from None
            raise InvalidTransition(self.MACHINE, self.state, event) from None
        self.state = next_state
        for action in actions:
            action(self, message, now, out)
        if next_state is self.TERMINATED and not self.terminated:
            self.terminated = True
            self._retransmit_at = self._timeout_at = None
            out.append(Terminated(self))

    def _start_timeout(self, value: float, event: Input, now: float, out: list[Output]) -> None:
        """Arm the timeout timer; a zero value (reliable transports) fires it at once."""
        if value:
            self._timeout_at = now + value
            self._timeout_input = event
        else:
            self._timeout_at = None
            self._step(event, None, now, out)

    def _wait_out(
        self, value: float, event: Input, now: float, out: list[Output], *, resend: bool
    ) -> None:
        """Arm the last timeout, for which the transaction only waits for retransmissions
        (Timers D, I, J, K, L, M). What it keeps meanwhile is packed: the request, and the bytes
        sent last only when they are to be `resend`. A zero value ends it at once."""
        if value:
            self.request.forget_parsed()
            if not resend:
                self.data = b""
        self._start_timeout(value, event, now, out)

    def _start_retransmit(self, interval: float | None, now: float) -> None:
        """Arm the retransmission timer; None (reliable transports) leaves it off."""
        if interval is not None:
            self._interval = interval
            self._retransmit_at = now + interval


# -- actions shared by the tables ------------------------------------------------------------


def retransmit(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Pass what was sent last to the transport once more (§17.1.1.2 "retransmit")."""
    out.append(Send(tx.peer, tx.data, tx))


def double_interval(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Timer A: the interval doubles after every retransmission, without a cap (§17.1.1.2)."""
    tx._interval *= 2
    tx._retransmit_at = now + tx._interval


def double_interval_up_to_t2(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Timers E and G: MIN(2*interval, T2) (§17.1.2.2, §17.2.1)."""
    tx._interval = min(tx._interval * 2, tx.timers.t2)
    tx._retransmit_at = now + tx._interval


def stop_retransmit(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    tx._retransmit_at = None


def stop_timers(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    tx._retransmit_at = tx._timeout_at = None


def inform_transport_error(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    out.append(TransportFailed(tx))


def pass_up(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Hand a received response to the TU."""
    out.append(ResponseReceived(tx, message))


def absorb(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Nothing to do: a retransmission the RFC tells the transaction to swallow."""


class ClientTransaction(Transaction):
    """Sends a request and takes its responses (§17.1)."""

    __slots__ = ()

    def start(self, now: float) -> list[Output]:
        raise NotImplementedError

    def receive_response(self, response: Response, now: float) -> list[Output]:
        """A response matched to this transaction by `matching.client_key`."""
        out: list[Output] = []
        self._step(received(response.status), response, now, out)
        return out


class ServerTransaction(Transaction):
    """Takes a request and sends the TU's responses (§17.2)."""

    __slots__ = ()

    def start(self, now: float) -> list[Output]:
        raise NotImplementedError

    def receive_request(self, request: Request, now: float) -> list[Output]:
        """A retransmission of the request, or (INVITE) an ACK, matched to this transaction."""
        out: list[Output] = []
        event = Input.RECV_ACK if request.method == "ACK" else Input.RECV_REQUEST
        self._step(event, request, now, out)
        return out

    def send_response(
        self, response: Response, now: float, data: bytes | None = None
    ) -> list[Output]:
        """Send the TU's response; `data` is its wire form when the caller already has it."""
        out: list[Output] = []
        self._step(from_tu(response.status), (response, data), now, out)
        return out


def send_tu_response(tx: Transaction, message: Any, now: float, out: list[Output]) -> None:
    """Serialize the TU's response once, keep the bytes for retransmissions, send them."""
    response, data = message
    tx.data = data = data if data is not None else response.to_bytes()
    out.append(Send(tx.peer, data, tx))
