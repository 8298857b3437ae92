"""Console sessions: an unguessable id in a cookie, the operator it belongs to, in memory.

A session id is 32 random bytes (URL-safe base64 in the cookie). Sessions live in this process
only: a restart logs every operator out, which is what a switchboard console wants. A session
ends on logout, after `idle_timeout` seconds without a request, or `max_age` seconds after login,
whichever comes first.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["COOKIE_NAME", "Session", "SessionStore"]

COOKIE_NAME = "console_session"
IDLE_TIMEOUT = 8 * 3600.0
MAX_AGE = 12 * 3600.0


@dataclass(slots=True)
class Session:
    id: str
    operator: str
    created_at: float
    last_seen: float


class SessionStore:
    def __init__(
        self,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def create(self, operator: str) -> Session:
        now = self._clock()
        self._sweep(now)
        session = Session(secrets.token_urlsafe(32), operator, now, now)
        self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this id, its idle clock restarted; `None` if unknown or expired."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def peek(self, session_id: str) -> Session | None:
        """The live session of this id, without restarting its idle clock."""
        session = self._sessions.get(session_id)
        if session is None or self._expired(session, self._clock()):
            return None
        return session

    def delete(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    def of_operator(self, operator: str) -> list[Session]:
        now = self._clock()
        live = (s for s in self._sessions.values() if not self._expired(s, now))
        return [s for s in live if s.operator == operator]

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: Session, now: float) -> bool:
        idle = now - session.last_seen > self.idle_timeout
        return idle or now - session.created_at > self.max_age

    def _sweep(self, now: float) -> None:
        for session_id in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[session_id]
