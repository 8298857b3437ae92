"""One re-INVITE (or UPDATE) carried across the two legs of a B2BUA call: pure state.

A request that changes the session on one leg (the near leg) is sent on as a new request on the
other leg (the far leg) with the same body; the far side's final response goes back to the near
side. For an INVITE the ACKs stay per leg (RFC 3261 §13.2.2.4, §14): the far 2xx is ACKed when
the near side ACKs our 2xx, and carries the near side's answer when the offer came late (in the
far 2xx). Only one such exchange runs on a call at a time: a second one gets `491` (§14.1-14.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sip import Request, Response
    from ..transaction import ClientTransaction, ServerTransaction
    from .dialog import Dialog

__all__ = ["Relay"]


class Relay:
    """The near request and its transaction, the far request and its transaction, and the
    state of the answer and the ACKs."""

    __slots__ = (
        "far_ack",
        "far_dialog",
        "far_ok",
        "far_request",
        "far_side",
        "far_transport",
        "far_tx",
        "near_ok",
        "near_request",
        "near_side",
        "near_tx",
        "started",
        "timer",
    )

    def __init__(
        self,
        near_side: str,
        near_request: Request,
        near_tx: ServerTransaction,
        far_side: str,
        far_dialog: Dialog,
        far_transport: str,
        far_request: Request,
        started: float,
    ) -> None:
        self.near_side = near_side
        self.near_request = near_request
        self.near_tx = near_tx
        self.far_side = far_side
        self.far_dialog = far_dialog
        self.far_transport = far_transport
        self.far_request = far_request
        self.far_tx: ClientTransaction | None = None
        self.far_ok: Response | None = None  # the far 2xx, waiting for the near ACK
        self.far_ack: Request | None = None  # sent; sent again for a retransmitted far 2xx
        self.near_ok: Response | None = None  # our 2xx to the near side, until it is ACKed
        self.started = started
        self.timer: Any = None  # the loop's handle resending `near_ok` (asyncio.TimerHandle)

    @property
    def method(self) -> str:
        return self.near_request.method

    @property
    def late_offer(self) -> bool:
        """An INVITE with no body: the far 2xx carries the offer and the near ACK the answer."""
        return self.method == "INVITE" and not self.near_request.body

    def __repr__(self) -> str:
        return f"<Relay {self.method} {self.near_side}->{self.far_side}>"
