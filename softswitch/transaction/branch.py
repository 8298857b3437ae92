"""Branch parameters for the Via of requests we send (RFC 3261 §8.1.1.7).

A branch is the magic cookie followed by 64 random bits. It must be unique across space and
time, and it should not be guessable: whoever can predict the branch of a call's INVITE can
forge its responses or its CANCEL. The random bits come from the operating system's generator,
read 4 KiB at a time, so one branch costs a slice of a string rather than a system call. A
forked worker process drops the bytes it inherited, so two workers never hand out the same ones.
"""

from __future__ import annotations

import os

from .matching import MAGIC_COOKIE

_CHUNK = 4096  # random bytes per read: 512 branches


class _Pool:
    __slots__ = ("hex", "offset")

    def __init__(self) -> None:
        self.hex = ""
        self.offset = 0

    def reset(self) -> None:
        self.hex = ""
        self.offset = 0


_pool = _Pool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_pool.reset)


def branch() -> str:
    """A new branch: `z9hG4bK` and 16 hex digits."""
    pool = _pool
    offset = pool.offset
    digits = pool.hex
    if offset >= len(digits):
        digits = pool.hex = os.urandom(_CHUNK).hex()
        offset = 0
    pool.offset = offset + 16
    return MAGIC_COOKIE + digits[offset : offset + 16]
