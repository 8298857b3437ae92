"""The console's gate: who is signed in, cross-site requests refused, safe response headers.

- Every `/api/` route but `/api/login`, and `/ws`, needs a live session (its id in the
  `console_session` cookie); without one the answer is `401`.
- A request that changes something (any method but GET, HEAD and OPTIONS) must carry the header
  `X-Console: 1`. A form on another site cannot set a custom header, and a script on another
  site cannot send one without a CORS preflight that this server never grants, so this refuses
  cross-site request forgery even where SameSite cookies are not honoured.
- The WebSocket handshake must come from this origin when the browser names one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from .sessions import COOKIE_NAME, Session, SessionStore

__all__ = [
    "CSRF_HEADER",
    "SESSIONS_KEY",
    "current_session",
    "gate",
    "json_errors",
    "security_headers",
]

CSRF_HEADER = "X-Console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_API = frozenset({"/api/login"})

SESSIONS_KEY = web.AppKey("console_sessions", SessionStore)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def current_session(request: web.Request) -> Session:
    """The live session of this request (on routes behind the gate, which checked it; raises
    `401` if it ended since, e.g. signed out from another tab)."""
    session = request.app[SESSIONS_KEY].peek(request.cookies.get(COOKIE_NAME, ""))
    if session is None:
        raise web.HTTPUnauthorized(reason="not signed in")
    return session


def _needs_session(path: str) -> bool:
    return (path.startswith("/api/") and path not in PUBLIC_API) or path == "/ws"


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser, or a same-origin request that names none
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower()


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    path = request.path
    changes = path.startswith("/api/") and request.method not in SAFE_METHODS
    if changes and request.headers.get(CSRF_HEADER) != "1":
        return error(403, f"missing the {CSRF_HEADER} header")
    if path == "/ws" and not _same_origin(request):
        return error(403, "cross-origin WebSocket refused")
    if _needs_session(path):
        session = request.app[SESSIONS_KEY].get(request.cookies.get(COOKIE_NAME))
        if session is None:
            return error(401, "not signed in")
    return await handler(request)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An API error (unknown route, wrong method, body too large) as JSON, like the others."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        return error(exc.status, exc.reason)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors included (an `on_response_prepare` signal)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Content-Security-Policy", CSP)
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")
