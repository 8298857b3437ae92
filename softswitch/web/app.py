"""The operator console as an aiohttp application, served on the node's own event loop.

    app = ConsoleApp(queue_service, StoreAccounts(store), secure_cookies=False,
                     actions=switchboard_actions, directory_search=directory.search)
    runner = await start_console(app, "0.0.0.0", 8080)
    ...
    await stop_console(runner)

`/` is the console page; `/static/` its script and style; `/api/` the JSON API; `/ws` the live
queue. The queue service must be started before the console and closed after it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from ..queue import QueueService
from . import auth, calls
from .auth import LoginThrottle
from .context import CONSOLE_KEY, Console, console_of
from .history import CallBook
from .live import Hub
from .ports import Accounts, CallActions, DirectorySearch, NoCallActions, Notes
from .security import SESSIONS_KEY, current_session, gate, json_errors, security_headers
from .sessions import SessionStore

__all__ = ["ConsoleApp", "console_port", "start_console", "stop_console"]

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024


def ConsoleApp(
    queue_service: QueueService,
    accounts: Accounts,
    *,
    secure_cookies: bool,
    actions: CallActions | None = None,
    directory_search: DirectorySearch | None = None,
    sessions: SessionStore | None = None,
    stats_interval: float = 5.0,
    notes: Notes | None = None,
) -> web.Application:
    """The console application. `accounts` checks passwords (`StoreAccounts(store)`);
    `actions` does the SIP side of take, connect, send back and hang up (none: the queue alone
    changes); `directory_search(query)` finds lines for the connect dialog; `notes` keeps
    the operators' notes with the call records (`CallNotes(store)`). Set
    `secure_cookies` when the console is reached over HTTPS (directly or behind a proxy)."""
    app = web.Application(middlewares=[json_errors, gate], client_max_size=MAX_BODY)
    sessions = sessions or SessionStore()
    book = CallBook()
    console = Console(
        queue=queue_service,
        accounts=accounts,
        actions=actions or NoCallActions(),
        directory_search=directory_search,
        sessions=sessions,
        book=book,
        hub=Hub(queue_service, sessions, book, stats_interval=stats_interval),
        throttle=LoginThrottle(),
        secure_cookies=secure_cookies,
        notes=notes,
    )
    app[CONSOLE_KEY] = console
    app[SESSIONS_KEY] = sessions
    app.router.add_get("/", _page)
    app.router.add_get("/ws", _websocket)
    app.router.add_static("/static/", STATIC, append_version=False)
    app.add_routes(auth.routes)
    app.add_routes(calls.routes)
    app.on_response_prepare.append(security_headers)
    app.on_startup.append(_start_hub)
    app.on_shutdown.append(_stop_hub)
    return app


async def start_console(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on `host`:`port` (0: any free port; see `console_port`)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("operator console on http://%s:%d/", host, console_port(runner))
    return runner


async def stop_console(runner: web.AppRunner) -> None:
    await runner.cleanup()


def console_port(runner: web.AppRunner) -> int:
    """The port the console listens on (the one chosen when started with port 0)."""
    return int(runner.addresses[0][1])


async def _page(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(STATIC / "console.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def _websocket(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    return await console_of(request).hub.serve(request, session.operator, session.id)


async def _start_hub(app: web.Application) -> None:
    await app[CONSOLE_KEY].hub.start()


async def _stop_hub(app: web.Application) -> None:
    await app[CONSOLE_KEY].hub.close()
