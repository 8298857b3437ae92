"""What the console needs from the rest of the node, as protocols.

- `Accounts`: checks an operator's login and password (argon2, `softswitch.queue.accounts`).
- `CallActions`: the SIP side of an operator's action, called after the queue service has
  accepted it: ring the operator's phone, connect by third-party call control, drop a leg.
- `DirectorySearch`: lines by number, name, exchange or jack label, for the connect dialog.
- `Notes`: the operator's note on a call, kept with its call record
  (`softswitch.proxy.records.CallNotes`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from ..queue.accounts import authenticate
from ..queue.states import Position, QueueCall
from ..store import Store

__all__ = [
    "Accounts",
    "CallActions",
    "DirectorySearch",
    "NoCallActions",
    "Notes",
    "StoreAccounts",
]

DirectorySearch = Callable[
    [str], Sequence[Mapping[str, Any]] | Awaitable[Sequence[Mapping[str, Any]]]
]
"""`directory_search(query)`: matching lines as dicts with `number` and, when known, `name`,
`exchange` and `jack` (`display_name`, `exchange_code` and `jack_label` are read too); a plain
function or a coroutine function."""


class Operator(Protocol):
    @property
    def login(self) -> str: ...


class Accounts(Protocol):
    async def authenticate(self, login: str, password: str) -> Operator | None:
        """The operator if `password` is theirs, else None."""
        ...


class CallActions(Protocol):
    """Each method is awaited after the queue service accepted the action; an exception is
    reported to the operator (for `take`, the call then goes back to the queue)."""

    async def take(self, call: QueueCall, operator: Position) -> None: ...
    async def connect(self, call: QueueCall, operator: Position, number: str) -> None: ...
    async def send_back(self, call: QueueCall, operator: Position) -> None: ...
    async def hang_up(self, call: QueueCall, operator: Position) -> None: ...


class Notes(Protocol):
    """Notes by SIP Call-ID: `set` keeps one (empty: removes it), `get` reads several."""

    async def set(self, call_id: str, operator: str, note: str) -> None: ...
    async def get(self, call_ids: Sequence[str]) -> dict[str, str]: ...


class StoreAccounts:
    """`Accounts` on the store's operator table."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def authenticate(self, login: str, password: str) -> Operator | None:
        return await authenticate(self._store, login, password)


class NoCallActions:
    """No SIP side: the queue changes, no phone rings (a node without the switchboard)."""

    async def take(self, call: QueueCall, operator: Position) -> None:
        return None

    async def connect(self, call: QueueCall, operator: Position, number: str) -> None:
        return None

    async def send_back(self, call: QueueCall, operator: Position) -> None:
        return None

    async def hang_up(self, call: QueueCall, operator: Position) -> None:
        return None
