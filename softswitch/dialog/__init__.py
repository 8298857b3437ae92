"""Dialogs (RFC 3261 §12) and the B2BUA legs of the operator queue."""

from .dialog import Dialog
from .queue_leg import HeldCall, HeldState, QueueLegEvents, QueueLegs

__all__ = ["Dialog", "HeldCall", "HeldState", "QueueLegEvents", "QueueLegs"]
