"""The response context of one proxied request (RFC 3261 §16.7): its branches, which of them to
start next, and which response is the best so far. Pure bookkeeping; the core does the I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..sip import Request, Response
from ..sip.headers import header_key
from ..transport import Peer

# Serial failover between trunk URIs moves on only for these (and for no answer at all).
TRUNK_FAILOVER = frozenset({408, 503})
# §16.7 step 6: among 4xx, these carry information the caller can act on.
_PREFERRED_4XX = (401, 407, 415, 420, 484)
_CHALLENGES = frozenset({"www-authenticate", "proxy-authenticate"})


class Target:
    """Where one branch goes: its Request-URI and the next hop that carries it."""

    __slots__ = ("failover", "group", "peer", "q", "route", "try_timeout", "uri")

    def __init__(
        self,
        uri: str,
        peer: Peer,
        *,
        q: float = 1.0,
        group: int = 0,
        route: Sequence[str] = (),
        try_timeout: float | None = None,
        failover: frozenset[int] | None = None,
    ) -> None:
        self.uri = uri
        self.peer = peer
        self.q = q
        self.group = group
        self.route = tuple(route)
        self.try_timeout = try_timeout
        self.failover = failover  # None: any non-2xx, non-6xx final moves to the next group

    def __repr__(self) -> str:
        return f"<Target {self.uri} via {self.peer!r} group {self.group}>"


class Branch:
    __slots__ = (
        "cancel_pending",
        "cancelled",
        "final",
        "gave_up",
        "request",
        "status",
        "target",
        "try_timer",
        "tx",
    )

    def __init__(self, target: Target, request: Request) -> None:
        self.target = target
        self.request = request
        self.tx: Any = None
        self.status = 0  # the highest status seen (0: nothing yet)
        self.final: Response | None = None
        self.cancelled = False
        self.cancel_pending = False  # CANCEL as soon as a provisional response arrives
        self.gave_up = False  # cancelled by timer C: its 487 means "no answer" (408)
        self.try_timer: Any = None  # the handle of the try_timeout, until a response comes

    @property
    def done(self) -> bool:
        return self.status >= 200

    @property
    def ringing(self) -> bool:
        return 100 <= self.status < 200


class ResponseContext:
    """One request being proxied: the server transaction, the branches, the best response."""

    __slots__ = (
        "answered",
        "branches",
        "caller",
        "cancelled",
        "final_sent",
        "groups",
        "next_group",
        "request",
        "server_tx",
        "timer_c",
        "timer_c_at",
    )

    def __init__(self, request: Request, server_tx: Any, targets: Sequence[Target]) -> None:
        self.request = request
        self.server_tx = server_tx
        groups: dict[int, list[Target]] = {}
        for target in targets:
            groups.setdefault(target.group, []).append(target)
        self.groups = [groups[key] for key in sorted(groups)]
        self.next_group = 0
        self.branches: list[Branch] = []
        self.answered = False
        self.final_sent = False
        self.cancelled = False
        self.timer_c: Any = None  # the loop's timer handle, armed for timer_c_at or earlier
        self.timer_c_at = 0.0  # when timer C fires (loop time): a provisional moves it on
        self.caller = ""

    def forget_parsed(self) -> None:
        """The final response has gone upstream: what stays (until the transactions have waited
        out their timers) is kept as text, not as thousands of parsed objects."""
        self.request.forget_parsed()
        for branch in self.branches:
            branch.request.forget_parsed()
            if branch.final is not None:
                branch.final.forget_parsed()

    def take_next_group(self) -> list[Target]:
        if self.next_group >= len(self.groups):
            return []
        group = self.groups[self.next_group]
        self.next_group += 1
        return group

    @property
    def pending(self) -> list[Branch]:
        return [b for b in self.branches if not b.done]

    def should_continue(self) -> bool:
        """All branches of the current group ended without success: try the next group?"""
        if self.answered or self.cancelled or self.next_group >= len(self.groups):
            return False
        if self.pending:
            return False
        for branch in self.branches:
            status = branch.status
            if status >= 600:
                return False
            failover = branch.target.failover
            if failover is not None and status not in failover:
                return False
        return True

    def best_response(self) -> tuple[int, Response | None]:
        """§16.7 step 6: a 6xx if any; else the lowest class, preferring the 4xx a caller can
        act on; 503 becomes 500 (a downstream overload is not ours to advertise)."""
        finals = [b.final for b in self.branches if b.final is not None]
        statuses = [b.status for b in self.branches if b.status >= 300]
        if not statuses:
            return 408, None
        six = [r for r in finals if r.status >= 600]
        if six:
            return six[0].status, six[0]
        lowest_class = min(s // 100 for s in statuses)
        candidates = [(b.status, b.final) for b in self.branches if b.status // 100 == lowest_class]
        if lowest_class == 4:
            for preferred in _PREFERRED_4XX:
                for status, response in candidates:
                    if status == preferred:
                        return status, response
        status, response = candidates[0]
        if status == 503:
            return 500, None
        return status, response

    def with_every_challenge(self, chosen: Response) -> Response:
        """§16.7 step 7: a 401 or 407 going upstream carries the challenges of every branch
        that answered 401 or 407, so the caller can answer them all in one retry."""
        extra = [
            (name, value)
            for branch in self.branches
            if branch.final is not None
            and branch.final is not chosen
            and branch.final.status in (401, 407)
            for name, value in branch.final.fields()
            if header_key(name) in _CHALLENGES
        ]
        if not extra:
            return chosen
        merged = Response(chosen.status, chosen.reason, chosen.copy_fields(), chosen.body)
        for name, value in extra:
            merged.add_header(name, value)
        return merged
