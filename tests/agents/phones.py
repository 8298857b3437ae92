"""Client for ``phone_agent.py``: one real SIP phone process per ``PhoneAgent``.

Synchronous API; every wait has a timeout and fails with the agent's most
recent events and log lines in the message. From an asyncio test (where the
server under test runs on the same event loop) use ``agent.aio``, which runs
the same methods in a worker thread so the loop keeps serving::

    agent = PhoneAgent.start(name="alice")
    agent.add_account("alice", register=False, auto_answer={"mode": "answer"})
    call = agent.call("alice", f"sip:bob@127.0.0.1:{other.udp_port}")
    agent.wait_event("call_state", call=call, state="CONFIRMED")

    # in an async test
    await agent.aio.wait_event("reg_state", account="alice", code=200)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AGENT_SCRIPT = Path(__file__).with_name("phone_agent.py")

DEFAULT_TIMEOUT = 5.0

Event = dict[str, Any]
Matcher = Callable[[Event], bool]


class PhoneAgentError(RuntimeError):
    """The agent replied with an error, timed out, or died."""


class PhoneAgentTimeout(PhoneAgentError, TimeoutError):
    """A reply or an event did not arrive in time."""


def _matches(event: Event, kind: str | None, match: Mapping[str, Any]) -> bool:
    if kind is not None and event.get("event") != kind:
        return False
    for key, expected in match.items():
        value = event.get(key)
        if callable(expected):
            if not expected(value):
                return False
        elif value != expected:
            return False
    return True


def _brief(event: Event) -> Event:
    """An event without its bulky raw message, for error texts."""
    return {k: v for k, v in event.items() if k not in ("msg", "headers")}


class _AsyncFacade:
    """``agent.aio.method(...)`` awaits ``agent.method(...)`` in a worker thread."""

    def __init__(self, agent: PhoneAgent) -> None:
        self._agent = agent

    def __getattr__(self, name: str) -> Callable[..., Any]:
        target = getattr(self._agent, name)
        if not callable(target):
            raise AttributeError(f"{name} is not a method of PhoneAgent")

        @functools.wraps(target)
        async def run(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(target, *args, **kwargs)

        return run


class PhoneAgent:
    """A running ``phone_agent.py`` process and its event log.

    Events are kept in arrival order. ``wait_event`` returns the first event
    that matches and has not been returned by an earlier ``wait_event``, so
    waiting twice for the same kind of event yields two different events.
    ``events()`` lists everything received, consumed or not.
    """

    def __init__(
        self,
        name: str = "phone",
        *,
        log_level: int = 3,
        log_dir: str | os.PathLike[str] | None = None,
        python: str | None = None,
        start_timeout: float = 10.0,
        codecs: Sequence[str] | None = None,
        sip_events: bool = True,
        host: str | None = None,
    ) -> None:
        """Start the agent process and wait for its ``ready`` event.

        ``codecs`` replaces the default offer (PCMU, PCMA); ``sip_events=False``
        stops the per-message ``sip_msg`` events; ``host`` binds its sockets to
        another loopback address than 127.0.0.1 (127.0.0.2, say).
        """
        self.name = name
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._events: list[Event] = []
        self._consumed: set[int] = set()
        self._replies: dict[int, dict[str, Any]] = {}
        self._stdout_closed = False
        self._write_lock = threading.Lock()
        self._closed = False

        if log_dir is None:
            self._tmpdir: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory(
                prefix=f"phone-{name}-"
            )
            log_dir = self._tmpdir.name
        else:
            self._tmpdir = None
            Path(log_dir).mkdir(parents=True, exist_ok=True)
        self.log_path = Path(log_dir) / f"{name}.log"
        self._log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in close())

        argv = [python or sys.executable, str(AGENT_SCRIPT), "--log-level", str(log_level)]
        if codecs is not None:
            argv += ["--codecs", ",".join(codecs)]
        if not sip_events:
            argv.append("--no-sip-events")
        if host is not None:
            argv += ["--host", host]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            bufsize=0,
        )
        self._reader = threading.Thread(
            target=self._read_stdout, name=f"phone-{name}-reader", daemon=True
        )
        self._reader.start()
        self.aio = _AsyncFacade(self)
        try:
            ready = self.wait_event("ready", timeout=start_timeout)
        except BaseException:
            self.close()
            raise
        self.pid: int = ready["pid"]
        self.host: str = ready["host"]
        self.udp_port: int = ready["udp_port"]
        self.tcp_port: int = ready["tcp_port"]
        self.pjsip_version: str = ready.get("pjsip_version", "")

    @classmethod
    def start(cls, name: str = "phone", **kwargs: Any) -> PhoneAgent:
        """Start an agent and wait until its transports are up."""
        return cls(name, **kwargs)

    def __enter__(self) -> PhoneAgent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PhoneAgent {self.name} pid={self.proc.pid} udp={getattr(self, 'udp_port', '?')}>"

    # --------------------------------------------------------------- plumbing

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s: not a protocol line: %r", self.name, line[:200])
                    continue
                with self._cond:
                    if "event" in msg:
                        self._events.append(msg)
                    else:
                        self._replies[msg.get("id")] = msg
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._stdout_closed = True
                self._cond.notify_all()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the agent's stderr (pjsip log and Python logging)."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, what: str, timed_out: bool = True) -> PhoneAgentError:
        with self._cond:
            recent = [_brief(e) for e in self._events[-12:]]
        status = self.proc.poll()
        alive = "running" if status is None else f"exited with status {status}"
        text = (
            f"{self.name}: {what} (agent {alive})\n"
            f"recent events:\n"
            + "\n".join(f"  {json.dumps(e, default=str)}" for e in recent)
            + f"\nlog tail ({self.log_path}):\n{self.log_tail()}"
        )
        return PhoneAgentTimeout(text) if timed_out else PhoneAgentError(text)

    def request(self, cmd: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> dict[str, Any]:
        """Send one command and return its ``result``; raise on error or timeout."""
        if self._closed:
            raise PhoneAgentError(f"{self.name}: agent is closed")
        req_id = next(self._ids)
        line = json.dumps({"id": req_id, "cmd": cmd, **params}) + "\n"
        assert self.proc.stdin is not None
        try:
            with self._write_lock:
                self.proc.stdin.write(line.encode())
                self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise self._failure(f"cannot send {cmd}: {exc}", timed_out=False) from exc
        deadline = time.monotonic() + timeout
        with self._cond:
            while req_id not in self._replies:
                remaining = deadline - time.monotonic()
                if self._stdout_closed:
                    raise self._failure(f"agent closed stdout before replying to {cmd}", False)
                if remaining <= 0:
                    raise self._failure(f"no reply to {cmd} within {timeout:.1f}s")
                self._cond.wait(remaining)
            reply = self._replies.pop(req_id)
        if "error" in reply:
            raise PhoneAgentError(f"{self.name}: {cmd} failed: {reply['error']}")
        return reply.get("result") or {}

    # ----------------------------------------------------------------- events

    def events(self, kind: str | None = None, **match: Any) -> list[Event]:
        """Every event received so far (consumed or not) matching ``kind`` and ``match``."""
        with self._cond:
            return [e for e in self._events if _matches(e, kind, match)]

    def wait_event(
        self,
        kind: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        predicate: Matcher | None = None,
        **match: Any,
    ) -> Event:
        """Wait for the first unconsumed event of ``kind`` whose fields equal ``match``.

        A ``match`` value may be a callable taking the field's value, e.g.
        ``code=lambda c: c >= 400``; ``predicate`` gets the whole event.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index, event in enumerate(self._events):
                    if index in self._consumed or not _matches(event, kind, match):
                        continue
                    if predicate is not None and not predicate(event):
                        continue
                    self._consumed.add(index)
                    return event
                remaining = deadline - time.monotonic()
                if self._stdout_closed:
                    raise self._failure(
                        f"agent exited while waiting for {kind} {match}", timed_out=False
                    )
                if remaining <= 0:
                    raise self._failure(f"no {kind} event matching {match} within {timeout:.1f}s")
                self._cond.wait(remaining)

    def wait_call_state(self, call: str, state: str, timeout: float = DEFAULT_TIMEOUT) -> Event:
        """Wait until ``call`` reaches ``state`` (e.g. ``"CONFIRMED"``)."""
        return self.wait_event("call_state", timeout=timeout, call=call, state=state)

    def sip_messages(
        self,
        direction: str | None = None,
        method: str | None = None,
        status: int | None = None,
        **match: Any,
    ) -> list[Event]:
        """``sip_msg`` events so far: ``direction`` "tx"/"rx", request ``method``,
        response ``status``; ``cseq_method`` etc. through ``match``."""
        for key, value in (("direction", direction), ("method", method), ("status", status)):
            if value is not None:
                match[key] = value
        return self.events("sip_msg", **match)

    # --------------------------------------------------------------- commands

    def info(self) -> dict[str, Any]:
        return self.request("info")

    def add_account(
        self,
        name: str,
        *,
        user: str | None = None,
        domain: str = "127.0.0.1",
        registrar: str | None = None,
        password: str | None = None,
        transport: str = "udp",
        register: bool = True,
        reg_timeout: int = 300,
        **options: Any,
    ) -> dict[str, Any]:
        """Create an account; see the agent's README for ``options``."""
        return self.request(
            "add_account",
            name=name,
            user=user or name,
            domain=domain,
            registrar=registrar,
            password=password,
            transport=transport,
            register=register,
            reg_timeout=reg_timeout,
            **options,
        )

    def remove_account(self, name: str) -> dict[str, Any]:
        return self.request("remove_account", name=name)

    def register(self, name: str) -> dict[str, Any]:
        return self.request("register", name=name)

    def unregister(self, name: str) -> dict[str, Any]:
        return self.request("unregister", name=name)

    def set_auto_answer(
        self,
        account: str,
        mode: str = "answer",
        code: int | None = None,
        delay: float = 0.0,
        ring_first: bool = True,
    ) -> dict[str, Any]:
        """``mode``: "answer" (code 200), "reject" (486), "ring" (180) or "manual"."""
        params: dict[str, Any] = {"mode": mode, "delay": delay, "ring_first": ring_first}
        if code is not None:
            params["code"] = code
        return self.request("set_auto_answer", account=account, **params)

    def call(self, account: str, target: str, headers: Mapping[str, str] | None = None) -> str:
        """Start a call; returns the agent's call id (``"c1"``, ...)."""
        result = self.request("call", account=account, target=target, headers=dict(headers or {}))
        return str(result["call"])

    def answer(self, call: str, code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.request("answer", call=call, code=code, headers=dict(headers or {}))

    def hangup(self, call: str, code: int | None = None, reason: str | None = None) -> None:
        params: dict[str, Any] = {"call": call}
        if code is not None:
            params["code"] = code
        if reason is not None:
            params["reason"] = reason
        self.request("hangup", **params)

    def transfer(self, call: str, target: str) -> dict[str, Any]:
        """Blind transfer: the phone sends REFER with ``Refer-To: target`` in the call."""
        return self.request("transfer", call=call, target=target)

    def hold(self, call: str) -> dict[str, Any]:
        """Put the call on hold (pjsua: a re-INVITE offering ``a=sendonly``)."""
        return self.request("hold", call=call)

    def unhold(self, call: str, *, update: bool = False, no_sdp: bool = False) -> dict[str, Any]:
        """Resume the call: a re-INVITE (``update``: an UPDATE) offering ``sendrecv``;
        ``no_sdp``: a re-INVITE with no offer."""
        return self.request("unhold", call=call, update=update, no_sdp=no_sdp)

    def refresh_target(self, call: str, uri_params: str) -> dict[str, Any]:
        """Re-INVITE with a Contact that now carries ``uri_params`` (``;a=b``): a new
        remote target for the other side (RFC 3261 §12.2)."""
        return self.request("refresh_target", call=call, uri_params=uri_params)

    def stats(self, call: str) -> dict[str, Any]:
        """RTP counters of the call's audio stream (``rx_packets``, ``tx_packets``, ...)."""
        return self.request("stats", call=call)

    # --------------------------------------------------------------- shutdown

    def quit(self, timeout: float = 3.0, unregister: bool = True) -> bool:
        """Ask the agent to hang up, unregister and exit; True if it did in time.

        The agent gives its calls and registrations ``timeout - 1`` seconds to
        end (the server must be able to answer meanwhile), then exits anyway.
        """
        if self.proc.poll() is not None:
            return True
        grace = max(timeout - 1.0, 0.2)
        try:
            self.request("quit", timeout=timeout, unregister=unregister, grace=grace)
        except PhoneAgentError as exc:
            log.warning("%s: quit failed: %s", self.name, str(exc).splitlines()[0])
        try:
            self.proc.wait(timeout=max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self, timeout: float = 3.0) -> None:
        """Stop the agent: quit politely, then terminate, then kill."""
        if self._closed:
            return
        try:
            if self.proc.poll() is None and not self.quit(timeout=timeout):
                log.warning("%s: did not quit in %.1fs; terminating", self.name, timeout)
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5.0)
        finally:
            self._closed = True
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            self._reader.join(timeout=2.0)
            if self.proc.stdout is not None:
                with contextlib.suppress(OSError):
                    self.proc.stdout.close()
            self._log_file.close()
            if self.proc.returncode not in (0, None):
                log.warning(
                    "%s: agent exited with status %s\n%s",
                    self.name,
                    self.proc.returncode,
                    self.log_tail(),
                )
            if self._tmpdir is not None:
                self._tmpdir.cleanup()
