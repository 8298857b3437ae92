"""Where a dialplan item was written, and the messages reported about it.

Every message an admin sees reads `file:line: reason`, like a compiler's, so that an editor can
jump to the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

__all__ = ["Diagnostic", "DialplanError", "Origin", "Severity"]


@dataclass(frozen=True, slots=True)
class Origin:
    """A place in a dialplan file: its name as given and a 1-based line number."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a dialplan: an error (the plan cannot be used) or a warning."""

    origin: Origin
    message: str
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        if self.severity is Severity.WARNING:
            return f"{self.origin}: warning: {self.message}"
        return f"{self.origin}: {self.message}"


class DialplanError(Exception):
    """A dialplan that cannot be used. `diagnostics` holds every problem found, in file order;
    the message is one `file:line: reason` line per problem."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))
