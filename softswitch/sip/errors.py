"""Errors of the SIP layer.

A peer's mistake carries the status to answer with, so it can be raised deep inside a parser and
turned into a response once, at the boundary. Our own mistakes are plain exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Request


class SipError(Exception):
    """Something a peer sent that we answer with a SIP status."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = 400 if status is None else status


class ParseError(SipError):
    """A message (or a part of one) that does not follow the grammar of RFC 3261 §25.

    `request` is set when enough of a request was readable to answer it (a readable top Via and
    Call-ID, CSeq, From and To present) with `status` (400, or 505 for another SIP version)
    carrying the reason.
    """

    def __init__(self, reason: str, request: Request | None = None, status: int = 400) -> None:
        super().__init__(reason, status)
        self.request = request
