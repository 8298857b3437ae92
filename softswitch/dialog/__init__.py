"""Dialogs (RFC 3261 §12) and the B2BUA legs of the operator queue."""

from .dialog import Dialog
from .held_call import HeldCall, HeldState, QueueLegEvents
from .queue_leg import QueueLegs

__all__ = ["Dialog", "HeldCall", "HeldState", "QueueLegEvents", "QueueLegs"]
