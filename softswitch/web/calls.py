"""The operator's actions: each is checked and recorded by the queue service first, then its
SIP side is asked of the `CallActions` (ring the operator's phone, connect, drop a leg).

    GET  /api/calls                    the waiting calls, in answer order
    POST /api/calls/{id}/take          409 if another operator was first
    POST /api/calls/{id}/connect       {"number": "5553001"}
    POST /api/calls/{id}/send-back     back to the queue
    POST /api/calls/{id}/hangup        end the call
    POST /api/calls/{id}/note          {"note": "..."} on a call of the operator's history
    POST /api/me/state                 {"state": "available"} or {"state": "paused", "reason": ...}
    GET  /api/history                  the operator's recent calls, latest first
    GET  /api/stats                    the queue figures
    GET  /api/directory?q=...          lines by number, name, exchange or jack label

Acting on a call another operator holds is refused with `403`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..queue import (
    AlreadyTaken,
    InvalidTransition,
    NotServing,
    OperatorUnavailable,
    Position,
    PositionState,
    QueueCall,
    QueueError,
    UnknownOperator,
    UnknownQueueCall,
)
from .context import Console, console_of
from .security import current_session, error
from .views import HELD, call_view, directory_view, history_view

__all__ = ["routes"]

NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
MAX_NOTE = 1000
MAX_REASON = 64
MAX_QUERY = 64
DIRECTORY_LIMIT = 20

routes = web.RouteTableDef()


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(reason="the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body


def _held_by(console: Console, id: int, login: str) -> QueueCall | web.Response:
    """The call `id` if `login` holds it, else the error response to send."""
    call = console.queue.get(id)
    if call is None:
        return error(404, f"call {id} is not in the queue any more")
    if call.operator is not None and call.operator != login:
        return error(403, f"call {id} is {call.operator}'s, not yours")
    if call.operator is None or call.state.value not in HELD:
        return error(409, f"you do not have call {id}; take it first")
    return call


def _position(console: Console, login: str) -> Position | web.Response:
    position = console.queue.position(login)
    if position is None:
        return error(403, f"operator {login} is not known to the queue")
    return position


async def _ask(
    console: Console, what: str, action: Callable[..., Awaitable[None]], *args: Any
) -> str | None:
    """Run one of the SIP actions; the reason it failed, or None."""
    try:
        await action(*args)
    except Exception as exc:
        console.log.warning("%s failed: %s", what, exc)
        return str(exc) or type(exc).__name__
    return None


@routes.get("/api/calls")
async def waiting(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    return web.json_response({"calls": [call_view(c) for c in console.queue.waiting()]})


@routes.post(r"/api/calls/{id:\d+}/take")
async def take(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    id = int(request.match_info["id"])
    try:
        call = await console.queue.take(id, login)
    except AlreadyTaken as exc:
        who = f" by {exc.call.operator}" if exc.call.operator else ""
        gone = "" if exc.call.live else f" (the call is {exc.call.state.value})"
        return error(409, f"call {id} was already taken{who}{gone}")
    except UnknownQueueCall:
        return error(404, f"call {id} is not in the queue any more")
    except NotServing as exc:
        return error(403, str(exc))
    except UnknownOperator as exc:
        return error(403, str(exc))
    except OperatorUnavailable as exc:
        return error(409, f"you cannot take a call while {exc.state.replace('_', ' ')}")
    except (QueueError, InvalidTransition) as exc:
        return error(409, str(exc))
    position = console.queue.position(login)
    assert position is not None
    what = f"ringing {login} for call {id}"
    failure = await _ask(console, what, console.actions.take, call, position)
    if failure is not None:
        try:
            await console.queue.mark_returned(id, note=f"operator's phone: {failure}")
        except (QueueError, InvalidTransition) as exc:
            console.log.warning("call %d not sent back after a failed take: %s", id, exc)
        return error(502, f"your phone could not be rung: {failure}")
    return web.json_response({"call": call_view(call)})


@routes.post(r"/api/calls/{id:\d+}/connect")
async def connect(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    id = int(request.match_info["id"])
    number = (await _json(request)).get("number")
    if not isinstance(number, str) or not NUMBER.fullmatch(number.strip()):
        return error(400, "give the number to connect to (digits, * or #)")
    number = number.strip()
    call = _held_by(console, id, login)
    if isinstance(call, web.Response):
        return call
    position = _position(console, login)
    if isinstance(position, web.Response):
        return position
    try:
        call = await console.queue.mark_connecting(id, number)
    except (QueueError, InvalidTransition) as exc:
        return error(409, f"call {id} cannot be connected now: {exc}")
    what = f"connecting call {id} to {number}"
    failure = await _ask(console, what, console.actions.connect, call, position, number)
    if failure is not None:
        try:
            await console.queue.mark_connect_failed(id, note=f"connect to {number}: {failure}")
        except (QueueError, InvalidTransition) as exc:
            console.log.warning("call %d: connect failure not recorded: %s", id, exc)
        return error(502, f"could not connect to {number}: {failure}")
    return web.json_response({"call": call_view(call)})


@routes.post(r"/api/calls/{id:\d+}/send-back")
async def send_back(request: web.Request) -> web.StreamResponse:
    return await _release(request, "send-back")


@routes.post(r"/api/calls/{id:\d+}/hangup")
async def hang_up(request: web.Request) -> web.StreamResponse:
    return await _release(request, "hangup")


async def _release(request: web.Request, how: str) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    id = int(request.match_info["id"])
    call = _held_by(console, id, login)
    if isinstance(call, web.Response):
        return call
    position = _position(console, login)
    if isinstance(position, web.Response):
        return position
    try:
        if how == "send-back":
            changed = await console.queue.mark_returned(id, note=f"sent back by {login}")
        else:
            changed = await console.queue.mark_completed(id)
    except (QueueError, InvalidTransition) as exc:
        return error(409, f"call {id} changed meanwhile: {exc}")
    action = console.actions.send_back if how == "send-back" else console.actions.hang_up
    failure = await _ask(console, f"{how} of call {id}", action, call, position)
    if failure is not None:
        return error(502, f"the queue has it, but the phones did not follow: {failure}")
    return web.json_response({"call": call_view(changed)})


@routes.post(r"/api/calls/{id:\d+}/note")
async def note(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    id = int(request.match_info["id"])
    text = (await _json(request)).get("note")
    if not isinstance(text, str) or len(text) > MAX_NOTE:
        return error(400, f"a note is text of at most {MAX_NOTE} characters")
    if console.book.set_note(login, id, text.strip()):
        call_id = console.book.call_id(login, id)
        if console.notes is not None and call_id:
            try:
                await console.notes.set(call_id, login, text)
            except Exception as exc:  # the note stays in this node's history meanwhile
                console.log.warning("note on call %d not saved: %s", id, exc)
                return error(503, f"the note could not be saved: {exc}")
        return web.json_response({"ok": True})
    live = console.queue.get(id)
    if console.book.owner(id) is not None or (live is not None and live.operator):
        return error(403, f"call {id} is not one of yours")
    return error(404, f"call {id} is not in your history")


@routes.post("/api/me/state")
async def set_state(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    body = await _json(request)
    state, reason = body.get("state"), body.get("reason")
    if state not in ("available", "paused"):
        return error(400, "state is available or paused")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        return error(400, f"a reason is text of at most {MAX_REASON} characters")
    reason = (reason or "").strip() or None if state == "paused" else None
    try:
        await console.queue.set_position(login, PositionState(state), reason)
    except UnknownOperator as exc:
        return error(403, str(exc))
    except (QueueError, InvalidTransition):
        current = console.queue.position(login)
        now = current.state.value.replace("_", " ") if current else "unknown"
        return error(409, f"you cannot become {state} while {now}")
    return web.json_response({"me": console.hub.me(login)})


@routes.get("/api/history")
async def history(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    login = current_session(request).operator
    recent = console.book.recent(login)
    saved: dict[str, str] = {}
    if console.notes is not None and recent:
        # the saved note wins: it is what the call record shows, whichever node wrote it
        try:
            saved = await console.notes.get([call.get("call_id") or "" for call, _ in recent])
        except Exception as exc:
            console.log.warning("saved notes not read: %s", exc)
    calls = [
        history_view(call, saved.get(call.get("call_id") or "", text)) for call, text in recent
    ]
    return web.json_response({"calls": calls})


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.StreamResponse:
    return web.json_response({"stats": console_of(request).hub.stats})


@routes.get("/api/directory")
async def directory(request: web.Request) -> web.StreamResponse:
    console = console_of(request)
    query = request.query.get("q", "").strip()
    if not query:
        return web.json_response({"results": []})
    if len(query) > MAX_QUERY:
        return error(400, f"a search is at most {MAX_QUERY} characters")
    if console.directory_search is None:
        return error(503, "no directory on this node")
    found = console.directory_search(query)
    if inspect.isawaitable(found):
        found = await found
    results = [directory_view(entry) for entry in list(found)[:DIRECTORY_LIMIT]]
    return web.json_response({"results": results})
