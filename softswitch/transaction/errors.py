"""Errors of the transaction layer.

A transition table has no row for some (state, input) pairs. Which error that raises depends on
where the input came from:

- from the network (a message, or a transport failure report): the peer sent something the RFC
  gives no transition for, such as a 180 after the 487 it answers. That is `StrayMessage`; the
  table drops the message and reports it as `Discarded`. The retransmissions the RFC tells a
  transaction to absorb are rows of the tables, not strays.
- from our own side (the transaction user, or a timer): a bug of ours, such as a 180 passed
  to a server transaction that already sent its final response. That is `InvalidTransition`,
  and it propagates.
"""

from __future__ import annotations

from typing import Any


class TransactionError(Exception):
    """Base class of the errors raised by the transaction layer."""


class InvalidTransition(TransactionError):
    """Our own mistake: the TU or a timer asked for something the state does not allow."""

    def __init__(self, machine: str, state: Any, event: Any) -> None:
        super().__init__(f"{machine}: no transition for {event.name} in state {state.name}")
        self.state = state
        self.event = event


class StrayMessage(TransactionError):
    """The peer's message (or a transport report) has no transition in this state: ignore it."""

    def __init__(self, machine: str, state: Any, event: Any, message: object = None) -> None:
        super().__init__(f"{machine}: {event.name} ignored in state {state.name}")
        self.state = state
        self.event = event
        self.message = message
