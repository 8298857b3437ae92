"""One object for each value that many rows repeat.

A node keeps a binding for every registered phone and a line for every subscriber in memory.
Values such as an exchange code, a line class, a transport, a NAT address or a user agent
repeat from row to row; each row decoded from the database (or built from a REGISTER) brings
its own copy, 50 to 80 bytes of string each. Passing them through a pool makes every row refer
to one object instead.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["SharedValues", "shared_float", "shared_int", "shared_text"]

H = TypeVar("H", bound=Hashable)

DEFAULT_LIMIT = 4096


class SharedValues(Generic[H]):
    """The first object seen of each value, up to `limit` values: values that never repeat
    (one NAT address per phone) cannot grow it without bound, they are then kept as given.

    Keep one pool per type: `1 == 1.0 == True` would otherwise come back as another type."""

    __slots__ = ("_limit", "_values")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._values: dict[H, H] = {}

    def __call__(self, value: H) -> H:
        found = self._values.get(value)
        if found is not None:
            return found
        if len(self._values) < self._limit:
            self._values[value] = value
        return value

    def __len__(self) -> int:
        return len(self._values)


shared_text: SharedValues[str] = SharedValues()
shared_float: SharedValues[float] = SharedValues()  # q values
shared_int: SharedValues[int] = SharedValues()  # the node's own listening ports
