"""The action of a rule: what happens to a call whose number the rule matched.

Exactly one per rule: deliver (to a line, or to an exchange), trunk, queue, rewrite (change the
number and match again from the first rule), reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Action", "Deliver", "Queue", "Reject", "Rewrite", "Trunk"]


@dataclass(frozen=True, slots=True)
class Deliver:
    """To one line, or to an exchange: its lines when served here, its operator queue when it
    is manual, its trunk when it is served elsewhere (the router decides from the directory)."""

    line: str | None = None
    exchange: str | None = None

    kind = "deliver"

    def describe(self) -> str:
        return (
            f"deliver to line {self.line}" if self.line else f"deliver to exchange {self.exchange}"
        )


@dataclass(frozen=True, slots=True)
class Trunk:
    """To SIP URIs, tried in order (failover), each for `timeout` seconds (None: the proxy's)."""

    uris: tuple[str, ...]
    timeout: float | None = None

    kind = "trunk"

    def describe(self) -> str:
        timeout = f", timeout {self.timeout:g} s" if self.timeout is not None else ""
        return f"trunk to {', '.join(self.uris)}{timeout}"


@dataclass(frozen=True, slots=True)
class Queue:
    """To an operator queue: an exchange's (`exchange`) or a named one. Higher priority is
    answered first."""

    name: str
    exchange: str | None = None
    priority: int = 0

    kind = "queue"

    def describe(self) -> str:
        which = (
            f"exchange {self.exchange}'s operator queue" if self.exchange else f"queue {self.name}"
        )
        return f"{which}, priority {self.priority}"


@dataclass(frozen=True, slots=True)
class Rewrite:
    """Change the number, then match it again from the first rule. Applied in this order:
    strip leading characters, substitute (first match of a regex), prepend."""

    strip: int = 0
    prepend: str = ""
    substitute: tuple[re.Pattern[str], str] | None = None

    kind = "rewrite"

    def apply(self, number: str) -> str:
        if self.strip:
            number = number[self.strip :]
        if self.substitute is not None:
            regex, replacement = self.substitute
            number = regex.sub(replacement, number, count=1)
        if self.prepend:
            number = self.prepend + number
        return number

    def describe(self) -> str:
        steps: list[str] = []
        if self.strip:
            steps.append(f"strip {self.strip}")
        if self.substitute is not None:
            steps.append(f'substitute "{self.substitute[0].pattern}" -> "{self.substitute[1]}"')
        if self.prepend:
            steps.append(f"prepend {self.prepend}")
        return "rewrite: " + ", ".join(steps)


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer the call with a final SIP error status (400-699)."""

    status: int
    reason: str

    kind = "reject"

    def describe(self) -> str:
        return f"reject {self.status} {self.reason}"


Action = Deliver | Trunk | Queue | Rewrite | Reject
