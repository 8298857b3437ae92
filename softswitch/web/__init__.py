"""The operator console: HTTP API, a WebSocket of the live queue, and one static page.

`ConsoleApp(...)` builds the aiohttp application; `start_console` / `stop_console` serve it on
the node's event loop, next to SIP.
"""

from __future__ import annotations

from .app import ConsoleApp, console_port, start_console, stop_console
from .ports import Accounts, CallActions, DirectorySearch, NoCallActions, Notes, StoreAccounts
from .sessions import Session, SessionStore

__all__ = [
    "Accounts",
    "CallActions",
    "ConsoleApp",
    "DirectorySearch",
    "NoCallActions",
    "Notes",
    "Session",
    "SessionStore",
    "StoreAccounts",
    "console_port",
    "start_console",
    "stop_console",
]
