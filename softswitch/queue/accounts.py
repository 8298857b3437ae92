"""Operator accounts: argon2id password hashes (argon2-cffi), made and checked in Python.

Hashing costs tens of milliseconds of CPU on purpose; the async functions run it in a worker
thread so the signaling on the event loop does not stall while an operator logs in.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from softswitch.store import OperatorRow, Store

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "WeakPasswordError",
    "add_operator",
    "authenticate",
    "hash_password",
    "set_password",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


class WeakPasswordError(ValueError):
    """A password too short to keep."""


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (PHC string, with its own salt and cost)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError(
            f"an operator password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True if `password` matches `password_hash`; False for a wrong password or a hash that
    is not argon2."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def add_operator(
    store: Store,
    login: str,
    line: str,
    password: str,
    queues: Sequence[str] = (),
    display_name: str | None = None,
) -> OperatorRow:
    """Add an operator with the phone `line`, serving `queues`."""
    password_hash = await asyncio.to_thread(hash_password, password)
    return await store.add_operator(login, line, password_hash, queues, display_name)


async def set_password(store: Store, login: str, password: str) -> None:
    password_hash = await asyncio.to_thread(hash_password, password)
    await store.set_operator_password(login, password_hash)


async def authenticate(store: Store, login: str, password: str) -> OperatorRow | None:
    """The operator if `password` is theirs, else None (also for an unknown login, after the
    same work, so a wrong login and a wrong password take as long). A hash made with an older
    cost is replaced on a successful login."""
    operator = await store.get_operator(login)
    password_hash = operator.password_hash if operator is not None else _dummy_hash()
    ok = await asyncio.to_thread(verify_password, password_hash, password)
    if not ok or operator is None:
        return None
    if _hasher.check_needs_rehash(password_hash):
        await store.set_operator_password(login, await asyncio.to_thread(_hasher.hash, password))
    return operator


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not an operator's password")
