"""The live queue in memory: calls, positions and queue settings as last read or written.

Rows are applied in revision order: an older row arriving late (a notification read after a
newer local write) never replaces a newer one, and a call that ended is never revived.
"""

from __future__ import annotations

from collections import OrderedDict

from softswitch.store import OperatorRow, QueueCallRow, QueueConfigRow

from .policy import QueueConfig
from .rows import call_from_row, config_from_row, position_from_row
from .states import Position, QueueCall

__all__ = ["Mirror"]

# Calls that ended are remembered (id -> revision) so a late, older row cannot revive them.
ENDED_MEMORY = 10_000


class Mirror:
    def __init__(self) -> None:
        self.calls: dict[int, QueueCall] = {}  # live calls only
        self.positions: dict[str, Position] = {}
        self.configs: dict[str, QueueConfig] = {}
        self._by_call_id: dict[str, int] = {}
        self._ended: OrderedDict[int, int] = OrderedDict()
        self._config_revisions: dict[str, int] = {}

    # -- calls ---------------------------------------------------------------------------

    def find(self, call_id: str) -> QueueCall | None:
        """The live entry of a SIP call (by Call-ID)."""
        id = self._by_call_id.get(call_id)
        return None if id is None else self.calls.get(id)

    def call_revision(self, id: int) -> int:
        """The revision of call `id` known here; -1 if none."""
        known = self.calls.get(id)
        return known.revision if known is not None else self._ended.get(id, -1)

    def apply_call(self, row: QueueCallRow) -> QueueCall | None:
        """Apply a row; the call if that changed anything (None if memory had it or newer)."""
        if self.call_revision(row.id) >= row.revision:
            return None
        call = call_from_row(row)
        if call.live:
            self.calls[call.id] = call
            self._by_call_id[call.call_id] = call.id
        else:
            self.forget_call(call.id)
            self._ended[call.id] = call.revision
            while len(self._ended) > ENDED_MEMORY:
                self._ended.popitem(last=False)
        return call

    def forget_call(self, id: int) -> None:
        call = self.calls.pop(id, None)
        if call is not None and self._by_call_id.get(call.call_id) == id:
            del self._by_call_id[call.call_id]

    # -- positions -----------------------------------------------------------------------

    def apply_position(self, row: OperatorRow) -> Position | None:
        """Apply an operator row; the position if that changed anything."""
        known = self.positions.get(row.login)
        if known is not None and known.revision >= row.revision:
            return None
        position = self.positions[row.login] = position_from_row(row)
        return position

    def position_revision(self, login: str) -> int:
        known = self.positions.get(login)
        return -1 if known is None else known.revision

    def remove_position(self, login: str) -> bool:
        return self.positions.pop(login, None) is not None

    # -- settings ------------------------------------------------------------------------

    def config(self, queue: str) -> QueueConfig:
        """The settings of `queue` (the defaults if it has none)."""
        return self.configs.get(queue) or QueueConfig(queue=queue)

    def apply_config(self, row: QueueConfigRow) -> QueueConfig:
        known = self.configs.get(row.queue)
        if known is not None and self._config_revisions.get(row.queue, -1) >= row.revision:
            return known
        config = self.configs[row.queue] = config_from_row(row)
        self._config_revisions[row.queue] = row.revision
        return config

    def remove_config(self, queue: str, revision: int | None) -> None:
        """The settings of `queue` were deleted at `revision` (None: unknown)."""
        if revision is None or revision >= self._config_revisions.get(queue, -1):
            self.configs.pop(queue, None)
            self._config_revisions.pop(queue, None)

    def replace_configs(self, rows: list[QueueConfigRow]) -> None:
        self.configs = {row.queue: config_from_row(row) for row in rows}
        self._config_revisions = {row.queue: row.revision for row in rows}
