"""Everything the console's handlers share, kept on the application."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from ..queue import QueueService
from .history import CallBook
from .ports import Accounts, CallActions, DirectorySearch, Notes
from .sessions import SessionStore

if TYPE_CHECKING:
    from .auth import LoginThrottle
    from .live import Hub

__all__ = ["CONSOLE_KEY", "Console", "console_of"]


@dataclass(slots=True, kw_only=True)
class Console:
    queue: QueueService
    accounts: Accounts
    actions: CallActions
    directory_search: DirectorySearch | None
    sessions: SessionStore
    book: CallBook
    hub: Hub
    throttle: LoginThrottle
    secure_cookies: bool
    notes: Notes | None = None  # None: notes live in `book` only, until the node stops
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("softswitch.web"))

    def end_session(self, session_id: str) -> None:
        if self.sessions.delete(session_id) is not None:
            self.hub.sign_out(session_id)


CONSOLE_KEY = web.AppKey("console", Console)


def console_of(request: web.Request) -> Console:
    return request.app[CONSOLE_KEY]
