"""A scriptable SIP phone built on pjsua2, driven by JSON lines.

Run as ``python tests/agents/phone_agent.py``. The process hosts exactly one
pjsua2 ``Endpoint`` (null audio device, no VAD, UDP and TCP transports on
127.0.0.1 with random ports) and any number of accounts.

Protocol: one JSON object per line on stdin, one JSON object per line on
stdout. stdout carries nothing else: the C library's own output is moved to
stderr (or to ``--log-file``).

Commands carry an ``id`` that is echoed in the reply::

    -> {"id": 1, "cmd": "info"}
    <- {"id": 1, "ok": true, "result": {"host": "127.0.0.1", "udp_port": 40001, ...}}
    <- {"id": 2, "error": "unknown account 'x'"}

Events have an ``event`` key instead of ``id``::

    <- {"event": "ready", "udp_port": 40001, "tcp_port": 40002, "pid": 123, ...}
    <- {"event": "reg_state", "account": "alice", "code": 200, ...}
    <- {"event": "incoming_call", "call": "c1", "msg": "INVITE sip:... SIP/2.0\\r\\n..."}
    <- {"event": "call_state", "call": "c1", "state": "CONFIRMED", ...}
    <- {"event": "call_media", "call": "c1", "status": "ACTIVE", ...}
    <- {"event": "sip_msg", "direction": "tx", "method": "REGISTER", "msg": "..."}

Commands: ``add_account``, ``remove_account``, ``register``, ``unregister``,
``set_auto_answer``, ``call``, ``answer``, ``hangup``, ``stats``, ``info``,
``set_codecs``, ``ping``, ``quit``. ``tests/agents/README.md`` lists their
fields and those of every event.

Threads: the stdin reader is a plain Python thread that never touches pjsua2.
pjsua2 runs with ``threadCnt = 0`` and ``mainThreadOnly = True``; the main
thread polls ``Endpoint.libHandleEvents`` so every pjsua2 callback runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import heapq
import itertools
import json
import logging
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

# Move fd 1 out of the way before pjsua2 is loaded: pjlib writes its start-up
# lines with printf() before any log configuration applies. The protocol gets
# a private duplicate of the original stdout; fd 1 becomes a copy of stderr.
_PROTO_FD = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import pjsua2 as pj  # noqa: E402  (must follow the fd shuffle above)

log = logging.getLogger("phone_agent")

DEFAULT_HOST = "127.0.0.1"
POLL_MS = 10

INV_STATES: dict[int, str] = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}

MEDIA_STATUS: dict[int, str] = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
    pj.PJSUA_CALL_MEDIA_ERROR: "ERROR",
}

AUTO_ANSWER_MODES = ("manual", "ring", "answer", "reject")


class CommandError(Exception):
    """A command that cannot be carried out; its text goes back as ``error``."""


def pj_error_text(exc: BaseException) -> str:
    """Readable text for a pjsua2 ``Error`` (whose ``str()`` is not helpful)."""
    info = getattr(exc, "info", None)
    if callable(info):
        try:
            return str(info()).strip()
        except Exception:
            pass
    reason = getattr(exc, "reason", None)
    title = getattr(exc, "title", None)
    if reason or title:
        return f"{title}: {reason}"
    return f"{type(exc).__name__}: {exc}"


def parse_headers(raw: str) -> tuple[str, list[list[str]]]:
    """Split a SIP message into its start line and ``[name, value]`` pairs.

    Folded continuation lines are joined to the header they continue.
    """
    head = raw.replace("\r\n", "\n").split("\n\n", 1)[0]
    lines = head.split("\n")
    start = lines[0] if lines else ""
    headers: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            headers[-1][1] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append([name.strip(), value.strip()])
    return start, headers


def rx_message_text(event: Any) -> str | None:
    """The whole received message behind a pjsua2 ``SipEvent``, if any."""
    try:
        if event.type == pj.PJSIP_EVENT_RX_MSG:
            return event.body.rxMsg.rdata.wholeMsg or None
        if event.type == pj.PJSIP_EVENT_TSX_STATE:
            tsx_state = event.body.tsxState
            if tsx_state.type == pj.PJSIP_EVENT_RX_MSG:
                return tsx_state.src.rdata.wholeMsg or None
    except Exception:
        return None
    return None


# How pjsua logs each SIP message it sends or receives (at level 4):
# "TX 512 bytes Request msg REGISTER/cseq=1 (tdta0x..) to UDP 127.0.0.1:5060:"
# followed by the message and a "--end msg--" line.
MSG_DUMP = re.compile(
    r"(?P<dir>TX|RX) (?P<size>\d+) bytes (?P<info>.*?) (?:to|from) "
    r"(?P<transport>\S+) (?P<remote>\S+):\s*$"
)
MSG_LOG_LEVEL = 4


class AgentLogWriter(pj.LogWriter):
    """Writes pjsip's log to a stream (never stdout) and reports SIP messages.

    Lines up to ``level`` are written; SIP message dumps are always written
    and, when ``on_message`` is set, handed to it as (direction, transport,
    remote address, raw message).
    """

    def __init__(
        self,
        stream: TextIO,
        level: int,
        on_message: Callable[[str, str, str, str], None] | None,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.level = level
        self.on_message = on_message

    def write(self, entry: Any) -> None:
        text: str = entry.msg
        first, newline, rest = text.partition("\n")
        dump = MSG_DUMP.search(first) if newline and entry.level == MSG_LOG_LEVEL else None
        if dump is None and entry.level > self.level:
            return
        self.stream.write(text if text.endswith("\n") else text + "\n")
        if dump is not None and self.on_message is not None:
            raw = rest.split("\n--end msg--", 1)[0]
            self.on_message(dump["dir"].lower(), dump["transport"].lower(), dump["remote"], raw)


class Protocol:
    """Writes protocol lines to the private stdout duplicate."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, obj: dict[str, Any]) -> None:
        line = json.dumps(obj, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass

    def event(self, kind: str, **fields: Any) -> None:
        self.send({"event": kind, "t": round(time.monotonic(), 6), **fields})


@dataclass
class AutoAnswer:
    """What an account does with incoming calls."""

    mode: str = "ring"
    code: int = 200
    delay: float = 0.0
    ring_first: bool = True

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> AutoAnswer:
        mode = str(params.get("mode", "ring"))
        if mode not in AUTO_ANSWER_MODES:
            raise CommandError(f"auto answer mode must be one of {AUTO_ANSWER_MODES}")
        default_code = {"answer": 200, "reject": 486, "ring": 180, "manual": 0}[mode]
        return cls(
            mode=mode,
            code=int(params.get("code", default_code)),
            delay=float(params.get("delay", 0.0)),
            ring_first=bool(params.get("ring_first", True)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "code": self.code,
            "delay": self.delay,
            "ring_first": self.ring_first,
        }


@dataclass
class CallRecord:
    """Bookkeeping for one call; outlives the pjsua2 ``Call`` object."""

    cid: str
    account: str
    direction: str
    call: AgentCall | None = None
    state: str = "NULL"
    sip_call_id: str = ""
    last_stats: dict[str, Any] | None = None
    ended: bool = False


@dataclass
class AccountRecord:
    """Bookkeeping for one account."""

    name: str
    uri: str
    transport: str
    register: bool
    account: AgentAccount
    config: pj.AccountConfig
    auto_answer: AutoAnswer = field(default_factory=AutoAnswer)
    reg_code: int | None = None
    reg_expiration: int | None = None
    reg_events: int = 0


class AgentAccount(pj.Account):
    """pjsua2 account forwarding its callbacks to the agent."""

    def __init__(self, agent: PhoneAgentProcess, name: str) -> None:
        super().__init__()
        self.agent = agent
        self.name = name

    def onRegState(self, prm: Any) -> None:
        self.agent.on_reg_state(self, prm)

    def onIncomingCall(self, prm: Any) -> None:
        self.agent.on_incoming_call(self, prm)


class AgentCall(pj.Call):
    """pjsua2 call forwarding its callbacks to the agent."""

    def __init__(self, agent: PhoneAgentProcess, acc: AgentAccount, cid: str, call_id: int) -> None:
        super().__init__(acc, call_id)
        self.agent = agent
        self.cid = cid

    def onCallState(self, prm: Any) -> None:
        self.agent.on_call_state(self, prm)

    def onCallMediaState(self, prm: Any) -> None:
        self.agent.on_call_media_state(self)

    def onStreamDestroyed(self, prm: Any) -> None:
        self.agent.on_stream_destroyed(self, prm)


class PhoneAgentProcess:
    """One pjsua2 endpoint with its accounts and calls, driven by commands."""

    def __init__(
        self,
        proto: Protocol,
        log_level: int,
        log_stream: TextIO,
        codecs: list[str],
        sip_events: bool = True,
        host: str = DEFAULT_HOST,
    ) -> None:
        self.proto = proto
        self.host = host  # the loopback address its SIP and RTP sockets are bound to
        self.initial_codecs = codecs
        self.log_level = log_level
        # pjsua2 keeps a raw pointer to the writer: it must outlive libDestroy().
        self.log_writer = AgentLogWriter(
            log_stream, log_level, self.on_sip_message if sip_events else None
        )
        self.ep = pj.Endpoint()
        self.transports: dict[str, int] = {}
        self.ports: dict[str, int] = {}
        self.accounts: dict[str, AccountRecord] = {}
        self.calls: dict[str, CallRecord] = {}
        self.call_seq = itertools.count(1)
        self.timer_seq = itertools.count()
        self.timers: list[tuple[float, int, Callable[[], None]]] = []
        self.to_release: list[str] = []
        self.commands: queue.Queue[str | None] = queue.Queue()
        self.running = True
        self.quit_request: dict[str, Any] | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "add_account": self.cmd_add_account,
            "remove_account": self.cmd_remove_account,
            "register": self.cmd_register,
            "unregister": self.cmd_unregister,
            "set_auto_answer": self.cmd_set_auto_answer,
            "call": self.cmd_call,
            "answer": self.cmd_answer,
            "hangup": self.cmd_hangup,
            "stats": self.cmd_stats,
            "transfer": self.cmd_transfer,
            "hold": self.cmd_hold,
            "unhold": self.cmd_unhold,
            "refresh_target": self.cmd_refresh_target,
            "info": self.cmd_info,
            "set_codecs": lambda params: {"codecs": self.set_codecs(list(params["codecs"]))},
            "ping": lambda params: {"pong": True},
        }

    # ------------------------------------------------------------------ set-up

    def start(self) -> None:
        ep = self.ep
        ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = 32
        # Level 4 at least, so that SIP messages reach the writer.
        cfg.logConfig.level = max(self.log_level, MSG_LOG_LEVEL)
        cfg.logConfig.consoleLevel = max(self.log_level, MSG_LOG_LEVEL)
        cfg.logConfig.msgLogging = True
        cfg.logConfig.writer = self.log_writer
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.threadCnt = 1
        ep.libInit(cfg)

        for name, kind in (("udp", pj.PJSIP_TRANSPORT_UDP), ("tcp", pj.PJSIP_TRANSPORT_TCP)):
            tcfg = pj.TransportConfig()
            tcfg.port = 0
            tcfg.boundAddress = self.host
            tcfg.publicAddress = self.host
            tid = ep.transportCreate(kind, tcfg)
            self.transports[name] = tid
            local = ep.transportGetInfo(tid).localName
            self.ports[name] = int(local.rsplit(":", 1)[1])

        ep.libStart()
        ep.audDevManager().setNullDev()
        if self.initial_codecs:
            self.set_codecs(self.initial_codecs)

    def set_codecs(self, wanted: list[str]) -> list[str]:
        """Enable only the ``wanted`` codecs (by name prefix), in that order."""
        available = [ci.codecId for ci in self.ep.codecEnum2()]
        chosen: list[str] = []
        for name in wanted:
            key = name.lower()
            hits = [c for c in available if c.lower() == key or c.lower().startswith(key + "/")]
            if not hits:
                raise CommandError(f"no codec {name!r}; available: {available}")
            chosen.extend(c for c in hits if c not in chosen)
        for codec in available:
            prio = 255 - chosen.index(codec) if codec in chosen else 0
            self.ep.codecSetPriority(codec, prio)
        return chosen

    # ------------------------------------------------------------- main loop

    def run(self) -> None:
        reader = threading.Thread(target=self._read_stdin, name="stdin-reader", daemon=True)
        reader.start()
        self.proto.event(
            "ready",
            pid=os.getpid(),
            host=self.host,
            udp_port=self.ports["udp"],
            tcp_port=self.ports["tcp"],
            pjsip_version=self.ep.libVersion().full,
        )
        while self.running:
            self.ep.libHandleEvents(POLL_MS)
            self._release_ended_calls()
            self._run_due_timers()
            self._drain_commands()
        self._release_ended_calls()

    def _read_stdin(self) -> None:
        for line in sys.stdin:
            if line.strip():
                self.commands.put(line)
        self.commands.put(None)

    def _drain_commands(self) -> None:
        while self.running:
            try:
                line = self.commands.get_nowait()
            except queue.Empty:
                return
            if line is None:
                log.info("stdin closed: shutting down")
                self.running = False
                return
            self._handle_line(line)

    def _handle_line(self, line: str) -> None:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError as exc:
            self.proto.send({"id": None, "error": f"bad JSON: {exc}"})
            return
        if not isinstance(msg, dict):
            self.proto.send({"id": None, "error": "a command must be a JSON object"})
            return
        req_id = msg.get("id")
        cmd = msg.get("cmd")
        if cmd == "quit":
            self.running = False
            self.quit_request = msg
            return
        handler = self.handlers.get(str(cmd))
        if handler is None:
            self.proto.send({"id": req_id, "error": f"unknown command {cmd!r}"})
            return
        try:
            result = handler(msg)
        except CommandError as exc:
            self.proto.send({"id": req_id, "error": str(exc)})
        except pj.Error as exc:
            self.proto.send({"id": req_id, "error": pj_error_text(exc)})
        except Exception as exc:
            log.exception("command %s failed", cmd)
            self.proto.send({"id": req_id, "error": f"{type(exc).__name__}: {exc}"})
        else:
            self.proto.send({"id": req_id, "ok": True, "result": result})

    def schedule(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self.timers, (time.monotonic() + max(delay, 0.0), next(self.timer_seq), fn))

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, fn = heapq.heappop(self.timers)
            try:
                fn()
            except pj.Error as exc:
                log.warning("scheduled action failed: %s", pj_error_text(exc))
            except Exception:
                log.exception("scheduled action failed")

    def _release_ended_calls(self) -> None:
        # pjsua2 Call objects must not be deleted inside their own callbacks;
        # drop them here, after libHandleEvents() has returned.
        while self.to_release:
            rec = self.calls.get(self.to_release.pop())
            if rec is not None and rec.call is not None:
                rec.call = None

    # ----------------------------------------------------------- helpers

    def _account(self, params: dict[str, Any], key: str = "account") -> AccountRecord:
        name = params.get(key)
        rec = self.accounts.get(str(name))
        if rec is None:
            raise CommandError(f"unknown account {name!r}")
        return rec

    def _call(self, params: dict[str, Any]) -> CallRecord:
        cid = params.get("call")
        rec = self.calls.get(str(cid))
        if rec is None:
            raise CommandError(f"unknown call {cid!r}")
        return rec

    def _live_call(self, params: dict[str, Any]) -> tuple[CallRecord, AgentCall]:
        rec = self._call(params)
        if rec.call is None or rec.ended:
            raise CommandError(f"call {rec.cid} has ended")
        return rec, rec.call

    @staticmethod
    def _headers(params: dict[str, Any]) -> pj.SipHeaderVector:
        vec = pj.SipHeaderVector()
        headers = params.get("headers") or {}
        items = headers.items() if isinstance(headers, dict) else headers
        for name, value in items:
            hdr = pj.SipHeader()
            hdr.hName = str(name)
            hdr.hValue = str(value)
            vec.append(hdr)
        return vec

    @staticmethod
    def _call_op(params: dict[str, Any], code: int | None = None) -> pj.CallOpParam:
        prm = pj.CallOpParam(True)
        prm.opt.audioCount = 1
        prm.opt.videoCount = 0
        if code is not None:
            prm.statusCode = code
        if params.get("reason"):
            prm.reason = str(params["reason"])
        if params.get("headers"):
            prm.txOption.headers = PhoneAgentProcess._headers(params)
        return prm

    def _call_info(self, call: AgentCall) -> dict[str, Any]:
        ci = call.getInfo()
        return {
            "state": INV_STATES.get(ci.state, str(ci.state)),
            "state_text": ci.stateText,
            "code": int(ci.lastStatusCode),
            "reason": ci.lastReason,
            "remote_uri": ci.remoteUri,
            "remote_contact": ci.remoteContact,
            "local_uri": ci.localUri,
            "local_contact": ci.localContact,
            "sip_call_id": ci.callIdString,
            "role": "caller" if ci.role == pj.PJSIP_ROLE_UAC else "callee",
        }

    def _audio_index(self, call: AgentCall) -> int | None:
        ci = call.getInfo()
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                return int(mi.index)
        return None

    def _stream_stats(self, call: AgentCall, idx: int) -> dict[str, Any]:
        stat = call.getStreamStat(idx)
        info = call.getStreamInfo(idx)
        rtcp = stat.rtcp
        return {
            "media_index": idx,
            "rx_packets": int(rtcp.rxStat.pkt),
            "tx_packets": int(rtcp.txStat.pkt),
            "rx_bytes": int(rtcp.rxStat.bytes),
            "tx_bytes": int(rtcp.txStat.bytes),
            "rx_loss": int(rtcp.rxStat.loss),
            "remote_rtp": info.remoteRtpAddress,
            "codec": info.codecName,
            "clock_rate": int(info.codecClockRate),
        }

    # ------------------------------------------------------------ callbacks

    def on_sip_message(self, direction: str, transport: str, remote: str, raw: str) -> None:
        start, headers = parse_headers(raw)
        fields: dict[str, Any] = {
            "direction": direction,
            "transport": transport,
            "remote": remote,
            "start_line": start,
        }
        if start.startswith("SIP/2.0 "):
            code = start.split(" ", 2)[1]
            fields["status"] = int(code) if code.isdigit() else None
            fields["method"] = None
        else:
            fields["status"] = None
            fields["method"] = start.split(" ", 1)[0]
        wanted = {"call-id": "sip_call_id", "i": "sip_call_id", "cseq": "cseq"}
        for name, value in headers:
            key = wanted.get(name.lower())
            if key and key not in fields:
                fields[key] = value
        cseq = str(fields.get("cseq", ""))
        fields["cseq_method"] = cseq.split()[-1] if cseq.split() else None
        fields["headers"] = headers
        fields["msg"] = raw
        self.proto.event("sip_msg", **fields)

    def on_reg_state(self, acc: AgentAccount, prm: Any) -> None:
        rec = self.accounts.get(acc.name)
        raw = None
        try:
            raw = prm.rdata.wholeMsg or None
        except Exception:
            raw = None
        active = False
        with contextlib.suppress(pj.Error):
            active = bool(acc.getInfo().regIsActive)
        if rec is not None:
            rec.reg_code = int(prm.code)
            rec.reg_expiration = int(prm.expiration)
            rec.reg_events += 1
        self.proto.event(
            "reg_state",
            account=acc.name,
            code=int(prm.code),
            reason=prm.reason,
            expiration=int(prm.expiration),
            status=int(prm.status),
            active=active,
            msg=raw,
        )

    def on_incoming_call(self, acc: AgentAccount, prm: Any) -> None:
        cid = f"c{next(self.call_seq)}"
        call = AgentCall(self, acc, cid, prm.callId)
        rec = CallRecord(cid=cid, account=acc.name, direction="in", call=call, state="INCOMING")
        self.calls[cid] = rec
        raw = prm.rdata.wholeMsg
        start, headers = parse_headers(raw)
        parts = start.split(" ")
        request_uri = parts[1] if len(parts) >= 3 else ""
        info = self._call_info(call)
        rec.sip_call_id = info["sip_call_id"]
        self.proto.event(
            "incoming_call",
            call=cid,
            account=acc.name,
            sip_call_id=info["sip_call_id"],
            request_uri=request_uri,
            from_uri=info["remote_uri"],
            to_uri=info["local_uri"],
            remote_contact=info["remote_contact"],
            source=prm.rdata.srcAddress,
            headers=headers,
            msg=raw,
        )
        policy = self.accounts[acc.name].auto_answer
        if policy.mode == "manual":
            return
        if policy.mode != "ring" and policy.ring_first and policy.delay > 0:
            self.schedule(0.0, lambda: self._auto_answer(cid, 180))
        self.schedule(policy.delay, lambda: self._auto_answer(cid, policy.code))

    def _auto_answer(self, cid: str, code: int) -> None:
        rec = self.calls.get(cid)
        if rec is None or rec.call is None or rec.ended:
            return
        if rec.state not in ("INCOMING", "EARLY"):
            return
        prm = self._call_op({}, code)
        if code >= 300:
            rec.call.hangup(prm)
        else:
            rec.call.answer(prm)

    def on_call_state(self, call: AgentCall, prm: Any) -> None:
        rec = self.calls.get(call.cid)
        try:
            info = self._call_info(call)
        except pj.Error as exc:
            log.warning("getInfo failed in onCallState: %s", pj_error_text(exc))
            return
        if rec is not None:
            rec.state = info["state"]
            rec.sip_call_id = info["sip_call_id"]
        fields: dict[str, Any] = {"call": call.cid}
        if rec is not None:
            fields["account"] = rec.account
            fields["direction"] = rec.direction
        fields.update(info)
        fields["msg"] = rx_message_text(prm.e)
        if info["state"] == "DISCONNECTED" and rec is not None:
            rec.ended = True
            fields["stats"] = rec.last_stats
            self.to_release.append(call.cid)
        self.proto.event("call_state", **fields)

    def on_call_media_state(self, call: AgentCall) -> None:
        ci = call.getInfo()
        for mi in ci.media:
            if mi.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            status = MEDIA_STATUS.get(mi.status, str(mi.status))
            fields: dict[str, Any] = {"call": call.cid, "media_index": int(mi.index)}
            if mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                aud = call.getAudioMedia(mi.index)
                adm = self.ep.audDevManager()
                # Wire the call to the null device so the conference bridge
                # clocks frames both ways; with VAD off RTP flows continuously.
                adm.getCaptureDevMedia().startTransmit(aud)
                aud.startTransmit(adm.getPlaybackDevMedia())
                try:
                    si = call.getStreamInfo(mi.index)
                    fields["remote_rtp"] = si.remoteRtpAddress
                    fields["codec"] = si.codecName
                except pj.Error:
                    pass
            self.proto.event("call_media", status=status, **fields)

    def on_stream_destroyed(self, call: AgentCall, prm: Any) -> None:
        rec = self.calls.get(call.cid)
        if rec is None:
            return
        with contextlib.suppress(pj.Error):
            rec.last_stats = self._stream_stats(call, int(prm.streamIdx))

    # ------------------------------------------------------------- commands

    def cmd_add_account(self, p: dict[str, Any]) -> dict[str, Any]:
        name = str(p.get("name") or p.get("user") or "")
        if not name:
            raise CommandError("add_account needs a name")
        if name in self.accounts:
            raise CommandError(f"account {name!r} exists")
        user = str(p.get("user") or name)
        domain = str(p.get("domain") or DEFAULT_HOST)
        transport = str(p.get("transport") or "udp").lower()
        if transport not in self.transports:
            raise CommandError(f"transport must be one of {sorted(self.transports)}")
        register = bool(p.get("register", True))
        registrar = p.get("registrar")
        if register and not registrar:
            raise CommandError("register is true but no registrar was given")

        cfg = pj.AccountConfig()
        display = p.get("display_name")
        uri = f"sip:{user}@{domain}"
        cfg.idUri = f'"{display}" <{uri}>' if display else uri
        cfg.sipConfig.transportId = self.transports[transport]
        if registrar:
            cfg.regConfig.registrarUri = str(registrar)
        cfg.regConfig.registerOnAdd = register
        cfg.regConfig.timeoutSec = int(p.get("reg_timeout", 300))
        cfg.regConfig.retryIntervalSec = int(p.get("reg_retry_interval", 0))
        cfg.regConfig.firstRetryIntervalSec = int(p.get("reg_retry_interval", 0))
        cfg.regConfig.unregWaitMsec = int(p.get("unreg_wait_ms", 1000))
        if p.get("reg_refresh_delay") is not None:
            cfg.regConfig.delayBeforeRefreshSec = int(p["reg_refresh_delay"])
        if p.get("reg_headers"):
            cfg.regConfig.headers = self._headers({"headers": p["reg_headers"]})

        proxy = p.get("outbound_proxy")
        if proxy:
            proxy = str(proxy)
            if ";lr" not in proxy:
                proxy += ";lr"
            cfg.sipConfig.proxies.append(proxy)

        self._add_credentials(cfg, p, user, domain)

        if p.get("contact_params"):
            cfg.sipConfig.contactParams = str(p["contact_params"])
        if p.get("contact_uri_params"):
            cfg.sipConfig.contactUriParams = str(p["contact_uri_params"])
        reg_contact_params = str(p.get("reg_contact_params") or "")
        instance_id = p.get("instance_id")
        if p.get("sip_outbound"):
            # RFC 5626 as pjsua does it: ";ob" in the Contact URI and, on
            # TCP only, ";reg-id=..;+sip.instance=.." in the REGISTER Contact.
            cfg.natConfig.sipOutboundUse = 1
            if instance_id:
                cfg.natConfig.sipOutboundInstanceId = str(instance_id)
            cfg.natConfig.sipOutboundRegId = str(p.get("reg_id", "1"))
        else:
            cfg.natConfig.sipOutboundUse = 0
            if instance_id:
                reg_contact_params += f';+sip.instance="{instance_id}"'
        if reg_contact_params:
            cfg.regConfig.contactParams = reg_contact_params
        cfg.natConfig.contactRewriteUse = 1 if p.get("contact_rewrite") else 0
        cfg.natConfig.viaRewriteUse = 1 if p.get("via_rewrite") else 0
        cfg.natConfig.sdpNatRewriteUse = 0
        cfg.natConfig.udpKaIntervalSec = 0
        cfg.natConfig.iceEnabled = False

        cfg.mediaConfig.transportConfig.boundAddress = self.host
        cfg.mediaConfig.transportConfig.publicAddress = self.host
        cfg.mediaConfig.transportConfig.port = 0
        cfg.mediaConfig.srtpUse = pj.PJMEDIA_SRTP_DISABLED

        auto = AutoAnswer.from_params(p.get("auto_answer") or {})
        acc = AgentAccount(self, name)
        rec = AccountRecord(
            name=name,
            uri=uri,
            transport=transport,
            register=register,
            account=acc,
            config=cfg,
            auto_answer=auto,
        )
        self.accounts[name] = rec
        try:
            acc.create(cfg, False)
        except BaseException:
            del self.accounts[name]
            raise
        return {"name": name, "uri": uri, "pjsua_id": int(acc.getId())}

    def _add_credentials(
        self, cfg: pj.AccountConfig, p: dict[str, Any], user: str, domain: str
    ) -> None:
        password = p.get("password")
        if password is None:
            return
        auth_user = str(p.get("auth_user") or user)
        algorithm = str(p.get("auth_algorithm") or "any")
        if algorithm.lower() == "any":
            # A plain password answers MD5 and SHA-256 challenges (SHA-512-256
            # is not available in this build). Given several challenges for
            # one realm, pjsip answers exactly one of them: the first if they
            # share a nonce, else the last.
            realm = str(p.get("realm") or "*")
            cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", realm, auth_user, 0, password))
        elif algorithm.upper() == "MD5":
            # A credential holding H(A1) = MD5(user:realm:password) answers
            # MD5 challenges only; SHA-256 challenges are skipped. The realm
            # must be the server's, since H(A1) depends on it.
            realm = str(p.get("realm") or domain)
            ha1 = hashlib.md5(f"{auth_user}:{realm}:{password}".encode()).hexdigest()
            cred = pj.AuthCredInfo()
            cred.scheme = "digest"
            cred.realm = realm
            cred.username = auth_user
            cred.dataType = pj.PJSIP_CRED_DATA_DIGEST
            cred.algoType = pj.PJSIP_AUTH_ALGORITHM_MD5
            cred.data = ha1
            cfg.sipConfig.authCreds.append(cred)
        else:
            # pjsip 2.15.1 answers SHA-256 only from a plain password, and a
            # SHA-256 H(A1) credential is used (wrongly) for MD5 challenges,
            # so a client restricted to SHA-256 cannot be expressed.
            raise CommandError("auth_algorithm must be 'any' or 'MD5'")
        initial = p.get("auth_initial_algorithm")
        if initial:
            cfg.sipConfig.authInitialEmpty = True
            cfg.sipConfig.authInitialAlgorithm = str(initial)

    def cmd_remove_account(self, p: dict[str, Any]) -> dict[str, Any]:
        rec = self._account(p, "name")
        for crec in self.calls.values():
            if crec.account == rec.name and crec.call is not None and not crec.ended:
                raise CommandError(f"account {rec.name!r} has a live call {crec.cid}")
        rec.account.shutdown()
        del self.accounts[rec.name]
        return {"name": rec.name}

    def cmd_register(self, p: dict[str, Any]) -> dict[str, Any]:
        rec = self._account(p, "name")
        rec.account.setRegistration(True)
        return {"name": rec.name}

    def cmd_unregister(self, p: dict[str, Any]) -> dict[str, Any]:
        rec = self._account(p, "name")
        rec.account.setRegistration(False)
        return {"name": rec.name}

    def cmd_set_auto_answer(self, p: dict[str, Any]) -> dict[str, Any]:
        rec = self._account(p)
        rec.auto_answer = AutoAnswer.from_params(p)
        return rec.auto_answer.as_dict()

    def cmd_call(self, p: dict[str, Any]) -> dict[str, Any]:
        arec = self._account(p)
        target = p.get("target")
        if not target:
            raise CommandError("call needs a target URI")
        cid = f"c{next(self.call_seq)}"
        call = AgentCall(self, arec.account, cid, pj.PJSUA_INVALID_ID)
        rec = CallRecord(cid=cid, account=arec.name, direction="out", call=call)
        self.calls[cid] = rec
        try:
            call.makeCall(str(target), self._call_op(p))
        except BaseException:
            del self.calls[cid]
            raise
        info = call.getInfo()
        rec.sip_call_id = info.callIdString
        return {"call": cid, "sip_call_id": info.callIdString}

    def cmd_answer(self, p: dict[str, Any]) -> dict[str, Any]:
        rec, call = self._live_call(p)
        code = int(p.get("code", 200))
        if not 100 < code < 300:
            raise CommandError("answer code must be 1xx or 2xx; use hangup to reject")
        call.answer(self._call_op(p, code))
        return {"call": rec.cid, "code": code}

    def cmd_hangup(self, p: dict[str, Any]) -> dict[str, Any]:
        rec, call = self._live_call(p)
        code = p.get("code")
        call.hangup(self._call_op(p, int(code) if code is not None else None))
        return {"call": rec.cid}

    def cmd_transfer(self, p: dict[str, Any]) -> dict[str, Any]:
        """Blind transfer (REFER, RFC 3515) of a call to ``target``, as a transfer key does."""
        rec, call = self._live_call(p)
        target = str(p["target"])
        call.xfer(target, pj.CallOpParam(True))
        return {"call": rec.cid, "target": target}

    def cmd_hold(self, p: dict[str, Any]) -> dict[str, Any]:
        """Put the call on hold: a re-INVITE offering ``a=sendonly``."""
        rec, call = self._live_call(p)
        call.setHold(self._call_op(p))
        return {"call": rec.cid}

    def cmd_unhold(self, p: dict[str, Any]) -> dict[str, Any]:
        """Take the call off hold: a re-INVITE (``update``: an UPDATE) offering ``sendrecv``;
        ``no_sdp``: a re-INVITE with no offer (the answer goes in the ACK)."""
        rec, call = self._live_call(p)
        prm = self._call_op(p)
        prm.opt.flag = pj.PJSUA_CALL_UNHOLD
        if p.get("no_sdp"):
            prm.opt.flag |= pj.PJSUA_CALL_NO_SDP_OFFER
        if p.get("update"):
            call.update(prm)
        else:
            call.reinvite(prm)
        return {"call": rec.cid}

    def cmd_refresh_target(self, p: dict[str, Any]) -> dict[str, Any]:
        """A target refresh (RFC 3261 §12.2): the account's Contact gets ``uri_params`` (it
        registers it again) and the call sends a re-INVITE with the new Contact, as a phone
        does whose address changed."""
        rec, call = self._live_call(p)
        arec = self.accounts[rec.account]
        arec.config.sipConfig.contactUriParams = str(p["uri_params"])
        arec.account.modify(arec.config)
        prm = self._call_op(p)
        prm.opt.flag = pj.PJSUA_CALL_UPDATE_CONTACT
        call.reinvite(prm)
        return {"call": rec.cid}

    def cmd_stats(self, p: dict[str, Any]) -> dict[str, Any]:
        rec = self._call(p)
        if rec.call is None or rec.ended:
            if rec.last_stats is None:
                raise CommandError(f"call {rec.cid} has ended and had no audio stream")
            return {**rec.last_stats, "call": rec.cid, "ended": True}
        idx = self._audio_index(rec.call)
        if idx is None:
            raise CommandError(f"call {rec.cid} has no active audio stream")
        stats = self._stream_stats(rec.call, idx)
        rec.last_stats = stats
        return {**stats, "call": rec.cid, "ended": False}

    def cmd_info(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "host": self.host,
            "udp_port": self.ports["udp"],
            "tcp_port": self.ports["tcp"],
            "codecs": [ci.codecId for ci in self.ep.codecEnum2() if ci.priority > 0],
            "accounts": {
                name: {
                    "uri": rec.uri,
                    "transport": rec.transport,
                    "register": rec.register,
                    "reg_code": rec.reg_code,
                    "reg_expiration": rec.reg_expiration,
                    "auto_answer": rec.auto_answer.as_dict(),
                }
                for name, rec in self.accounts.items()
            },
            "calls": {
                cid: {
                    "account": rec.account,
                    "direction": rec.direction,
                    "state": rec.state,
                    "sip_call_id": rec.sip_call_id,
                    "ended": rec.ended,
                }
                for cid, rec in self.calls.items()
            },
        }

    # ------------------------------------------------------------- shutdown

    def _pump_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                return False
            self.ep.libHandleEvents(POLL_MS)
        return True

    def shutdown(self) -> None:
        req = self.quit_request or {}
        deadline = time.monotonic() + float(req.get("grace", 2.0))
        live = [r for r in self.calls.values() if r.call is not None and not r.ended]
        if live:
            self.ep.hangupAllCalls()
        pending: list[tuple[AccountRecord, int]] = []
        if req.get("unregister", True):
            for rec in self.accounts.values():
                if rec.reg_code != 200 or not rec.reg_expiration:
                    continue
                try:
                    rec.account.setRegistration(False)
                except pj.Error as exc:
                    log.warning("unregister %s failed: %s", rec.name, pj_error_text(exc))
                else:
                    pending.append((rec, rec.reg_events))

        def finished() -> bool:
            return all(r.ended for r in live) and all(
                rec.reg_events > seen for rec, seen in pending
            )

        clean = self._pump_until(finished, max(deadline - time.monotonic(), 0.0))
        self.timers.clear()
        self.to_release.extend(self.calls)
        self._release_ended_calls()
        for rec in self.calls.values():
            rec.call = None
        for rec in list(self.accounts.values()):
            try:
                rec.account.shutdown()
            except pj.Error as exc:
                log.warning("account %s shutdown failed: %s", rec.name, pj_error_text(exc))
        # Replying before libDestroy lets the client stop waiting; the exit
        # status still tells whether the rest went well.
        if self.quit_request is not None:
            self.proto.send({"id": req.get("id"), "ok": True, "result": {"clean": clean}})
        # Calls and registrations were ended above (within the grace period);
        # without NO_NETWORK libDestroy() sleeps a further second regardless.
        self.ep.libDestroy(pj.PJSUA_DESTROY_NO_NETWORK)
        self.accounts.clear()
        self.calls.clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", type=int, default=3, help="pjsip log level 0-6")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="loopback address to bind SIP and RTP to"
    )
    parser.add_argument("--log-file", default=None, help="pjsip log file instead of stderr")
    parser.add_argument(
        "--no-sip-events",
        action="store_true",
        help="do not report every SIP message sent or received as a sip_msg event",
    )
    parser.add_argument(
        "--codecs",
        default="PCMU,PCMA",
        help="comma-separated codecs to offer, in order of preference ('' keeps pjsip's)",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s phone_agent[%(process)d] %(levelname)s %(message)s",
    )
    proto = Protocol(os.fdopen(_PROTO_FD, "w", encoding="utf-8", buffering=1))
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    log_stream: TextIO = (
        open(args.log_file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        if args.log_file
        else sys.stderr
    )
    agent = PhoneAgentProcess(
        proto,
        args.log_level,
        log_stream,
        codecs,
        sip_events=not args.no_sip_events,
        host=args.host,
    )

    def on_signal(signum: int, frame: Any) -> None:
        agent.running = False

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        agent.start()
    except (pj.Error, CommandError) as exc:
        text = pj_error_text(exc) if isinstance(exc, pj.Error) else str(exc)
        proto.event("fatal", error=text)
        return 2
    try:
        agent.run()
    finally:
        agent.shutdown()
    log.info("bye")
    return 0


if __name__ == "__main__":
    sys.exit(main())
