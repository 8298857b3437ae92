"""Signing in and out: `POST /api/login`, `POST /api/logout`, `GET /api/me`.

A successful login starts a session (cookie `console_session`: HttpOnly, SameSite=Strict,
Secure when the console is served over TLS) and, if the operator's position was offline, makes
them available. Repeated wrong passwords for one login, or from one address, are refused for a
while with `429`, on top of the cost of argon2 itself.
"""

from __future__ import annotations

import time
from collections import deque

from aiohttp import web

from ..queue import PositionState, QueueError
from .context import console_of
from .security import current_session, error
from .sessions import COOKIE_NAME

__all__ = ["LoginThrottle", "routes"]

MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
MAX_FIELD = 256

routes = web.RouteTableDef()


class LoginThrottle:
    """At most `limit` failed logins per key (a login, an address) in `window` seconds."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        return any(len(self._recent(key, now)) >= self.limit for key in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(self._failures) > 10_000:  # forget idle keys rather than grow without bound
            for idle in [k for k, v in self._failures.items() if not v and k != key]:
                del self._failures[idle]
        return failures


@routes.post("/api/login")
async def login(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    try:
        body = await request.json()
    except ValueError:
        return error(400, 'send JSON: {"login": ..., "password": ...}')
    name = body.get("login") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        return error(400, "login and password are required")
    if len(name) > MAX_FIELD or len(password) > MAX_FIELD:
        return error(400, "login or password too long")
    name = name.strip().lower()
    keys = (f"login:{name}", f"address:{request.remote}")
    if console.throttle.blocked(*keys):
        return error(429, "too many failed attempts; wait a minute and try again")
    operator = await console.accounts.authenticate(name, password)
    if operator is None:
        console.throttle.failed(*keys)
        return error(401, "wrong login or password")
    console.throttle.succeeded(*keys)
    old = request.cookies.get(COOKIE_NAME)
    if old:
        console.end_session(old)
    session = console.sessions.create(operator.login)
    position = console.queue.position(operator.login)
    if position is not None and position.state is PositionState.OFFLINE:
        try:
            await console.queue.set_position(operator.login, PositionState.AVAILABLE)
        except QueueError as exc:
            console.log.warning("could not make %s available: %s", operator.login, exc)
    response = web.json_response({"me": console.hub.me(operator.login)})
    response.set_cookie(
        COOKIE_NAME,
        session.id,
        httponly=True,
        samesite="Strict",
        secure=console.secure_cookies,
        path="/",
        max_age=int(console.sessions.max_age),
    )
    return response


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    session = current_session(request)
    console.end_session(session.id)
    if not console.sessions.of_operator(session.operator):
        position = console.queue.position(session.operator)
        if position is not None and position.state in (
            PositionState.AVAILABLE,
            PositionState.PAUSED,
            PositionState.WRAP_UP,
        ):
            try:
                await console.queue.set_position(session.operator, PositionState.OFFLINE)
            except QueueError as exc:
                console.log.warning("could not sign %s off: %s", session.operator, exc)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE_NAME, path="/")
    return response


@routes.get("/api/me")
async def me(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    return web.json_response({"me": console.hub.me(current_session(request).operator)})
