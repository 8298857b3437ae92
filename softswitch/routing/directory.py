"""What the router needs to know of the network: exchanges, lines, and who is calling.

The store keeps exchanges and lines; the router takes them as plain values. Any object with the
attributes of `ExchangeEntry` / `LineEntry` will do (the store's `Exchange` and `Line` have them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Caller", "Directory", "ExchangeEntry", "ExchangeLike", "LineEntry", "LineLike"]


class ExchangeLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def prefix(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def trunk_uris(self) -> Sequence[str]: ...


class LineLike(Protocol):
    @property
    def number(self) -> str: ...
    @property
    def exchange_code(self) -> str: ...
    @property
    def line_class(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ExchangeEntry:
    """An exchange: served here when `trunk_uris` is empty, else reached over those trunks."""

    code: str
    prefix: str
    mode: str = "automated"
    trunk_uris: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LineEntry:
    number: str
    exchange_code: str
    line_class: str = "residential"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who places the call: their number, exchange and line class when known (a call arriving
    over a trunk may have none)."""

    number: str | None = None
    exchange: str | None = None
    line_class: str | None = None

    def describe(self) -> str:
        about = [f"exchange {self.exchange or 'unknown'}"]
        if self.line_class:
            about.append(f"class {self.line_class}")
        return f"{self.number or 'unknown caller'} ({', '.join(about)})"


class Directory:
    """Exchanges by code and lines by number. `lines` None means the lines are not known (the
    router and the checker then take any line number on trust). A mapping of lines by number
    is used as it is, not copied (a node's lines are many): it must not change afterwards."""

    __slots__ = ("_by_prefix", "_exchanges", "_lines")

    def __init__(
        self,
        exchanges: Iterable[ExchangeLike] = (),
        lines: Iterable[LineLike] | Mapping[str, LineLike] | None = None,
    ) -> None:
        self._exchanges: dict[str, ExchangeLike] = {e.code: e for e in exchanges}
        self._lines: Mapping[str, LineLike] | None
        if lines is None or isinstance(lines, Mapping):
            self._lines = lines
        else:
            self._lines = {line.number: line for line in lines}
        self._by_prefix: dict[str, ExchangeLike] = {e.prefix: e for e in self._exchanges.values()}

    @property
    def knows_lines(self) -> bool:
        return self._lines is not None

    def exchange(self, code: str) -> ExchangeLike | None:
        return self._exchanges.get(code)

    def exchanges(self) -> list[ExchangeLike]:
        return list(self._exchanges.values())

    def line(self, number: str) -> LineLike | None:
        return None if self._lines is None else self._lines.get(number)

    def exchange_of_number(self, number: str) -> ExchangeLike | None:
        """The exchange whose prefix is the longest one `number` starts with."""
        for end in range(len(number), 0, -1):
            exchange = self._by_prefix.get(number[:end])
            if exchange is not None:
                return exchange
        return None

    def caller(self, number: str) -> Caller:
        """The caller placing a call from `number`: its line's exchange and class when the line
        is known, else the exchange its prefix belongs to."""
        line = self.line(number)
        if line is not None:
            return Caller(number, line.exchange_code, line.line_class)
        exchange = self.exchange_of_number(number)
        return Caller(number, exchange.code if exchange is not None else None, None)
