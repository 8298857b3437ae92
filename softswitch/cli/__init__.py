"""The `softswitch` command: run the exchange and administer its exchanges, lines, dialplans,
call records, operators and queues."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
