"""Overload: with its serving thread kept busy and datagrams waiting, the node refuses new
calls and registrations with 503 and still carries the call that is up; when the load is gone
it takes calls again.

The load is real: the test spins the event loop the softswitch runs on, and a thread keeps its
socket fed with keepalives (bare CRLFs), so the node finds itself busy and behind, as it would
past its capacity.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.overload import BEHIND
from softswitch.server import REGISTER_RETRY_AFTER, Softswitch
from softswitch.sip.digest import answer_challenge, parse_challenge_params
from softswitch.store import Store

from .calling import dial, registered, wait_until
from .conftest import provision, switch_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]


class LoopSpinner:
    """Keeps the running event loop busy: spins 50 ms, lets it breathe for 1 ms, again."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._handle = self._loop.call_later(0.001, self._spin)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _spin(self) -> None:
        end = time.monotonic() + 0.05
        while time.monotonic() < end:
            pass
        self._handle = self._loop.call_later(0.001, self._spin)


class KeepaliveFlood:
    """A process that sends large CRLF keepalives to the node, about 600 a second, for at
    most 30 s or until stopped (its own process: a thread would wait on this one's GIL)."""

    PROGRAM = (
        "import socket, sys, time\n"
        "sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "end = time.monotonic() + 30\n"
        "while time.monotonic() < end:\n"
        "    sock.sendto(b'\\r\\n' * 32500, ('127.0.0.1', int(sys.argv[1])))\n"
        "    time.sleep(0.0015)\n"
    )

    def __init__(self, port: int) -> None:
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, "-c", self.PROGRAM, str(self._port)]
        self._process = subprocess.Popen(argv)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=5)


@contextlib.asynccontextmanager
async def shedding(switch: Softswitch) -> AsyncIterator[None]:
    """The node busy and shedding nearly every new request (the loop kept spinning), its
    receive buffer drained again: what comes now is read at once, and refused or taken."""
    spinner, flood = LoopSpinner(), KeepaliveFlood(switch.sip_port)
    spinner.start()
    flood.start()
    try:
        await wait_until(lambda: switch.admission.admitted <= 0.05, timeout=15)
        # caught up but still busy: the share is held, not grown back
        flood.stop()
        await wait_until(lambda: backlog(switch) < BEHIND, timeout=15)
        assert switch.admission.admitted <= 0.05
        yield
    finally:
        flood.stop()
        spinner.stop()


TRUSTED = "127.0.0.2"  # a trusted source network: its REGISTERs need no credentials


@pytest.fixture
async def switch(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    settings = switch_settings(tmp_path, overload_target=0.5, trusted_networks=f"{TRUSTED}/32")
    node = await Softswitch.open(settings, fresh_database_url)
    await provision(
        node.store,
        ("5551001", "one-secret"),
        ("5551002", "two-secret"),
        ("5551003", "three-secret"),
    )
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


def backlog(switch: Softswitch) -> float:
    waiting = switch.endpoint.transport.receive_backlog()
    assert waiting is not None, "this system does not tell a socket's backlog"
    return waiting


def header_value(message: str, name: str) -> str | None:
    for line in message.split("\r\n")[1:]:
        field, _, value = line.partition(":")
        if field.strip().lower() == name.lower():
            return value.strip()
    return None


async def test_in_overload_new_calls_and_registrations_get_503_and_the_call_up_goes_on(
    switch: Softswitch, phone_agent_factory: Any, fresh_database_url: str
) -> None:
    began = time.time()
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(
        phone_agent_factory, switch, "bob", "5551002", "two-secret", auto_answer={"mode": "answer"}
    )
    up = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(up, "CONFIRMED", timeout=5)
    bobs_call = (await bob.aio.wait_event("incoming_call"))["call"]

    async with shedding(switch):
        # a new phone's REGISTER: refused, told to come back later, at a spread-out time
        carol = await asyncio.to_thread(phone_agent_factory, "carol")
        await carol.aio.add_account(
            "carol",
            user="5551003",
            registrar=f"sip:127.0.0.1:{switch.sip_port}",
            password="three-secret",
        )
        refused = await carol.aio.wait_event("reg_state", account="carol", timeout=10)
        assert refused["code"] == 503, refused
        retry_after = header_value(refused["msg"], "Retry-After")
        assert retry_after is not None and retry_after.isdigit(), refused["msg"]
        low, high = REGISTER_RETRY_AFTER
        assert low <= int(retry_after) <= high
        assert switch.location.bindings("5551003", time.time()) == []

        # a new call: refused, with no Retry-After (that would stop all calls, not some)
        second = await alice.aio.call("alice", dial(switch, "5551002"))
        ended = await alice.aio.wait_call_state(second, "DISCONNECTED", timeout=10)
        assert ended["code"] == 503, ended
        assert header_value(ended["msg"] or "", "Retry-After") is None
        assert switch.admission.refused >= 2

        # the call that was up before the overload is hung up through the node as usual
        await alice.aio.hangup(up)
        await bob.aio.wait_call_state(bobs_call, "DISCONNECTED", timeout=10)

    await wait_until(lambda: not switch.admission.shedding, timeout=10)
    again = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(again, "CONFIRMED", timeout=5)
    await alice.aio.hangup(again)
    await alice.aio.wait_call_state(again, "DISCONNECTED", timeout=5)

    # what was refused is written down for the traffic report (at the latest when it stops)
    await switch.stop()
    store = await Store.open(fresh_database_url)
    try:
        hours = await store.traffic(began, time.time())
    finally:
        await store.close()
    calls_refused = sum(hour.refused for hour in hours)
    registrations_refused = sum(hour.registrations_refused for hour in hours)
    assert calls_refused >= 1 and registrations_refused >= 1
    assert calls_refused + registrations_refused == switch.admission.refused


def register(
    port: int, cseq: int, authorization: str | None = None, host: str = "127.0.0.1"
) -> bytes:
    """Line 5551003's REGISTER from `host`:`port`, with `authorization` if given."""
    credentials = f"Authorization: {authorization}\r\n" if authorization else ""
    return (
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK-reg-{cseq};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:5551003@127.0.0.1>;tag=carol\r\n"
        "To: <sip:5551003@127.0.0.1>\r\n"
        f"Call-ID: carol-overload@test\r\nCSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:5551003@{host}:{port}>\r\nExpires: 300\r\n"
        f"{credentials}Content-Length: 0\r\n\r\n"
    ).encode()


async def exchange(phone: socket.socket, node: tuple[str, int], request: bytes) -> str:
    """Send `request` and return the final response to it."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(phone, request, node)
    while True:
        data = await asyncio.wait_for(loop.sock_recv(phone, 65535), timeout=10)
        text = data.decode()
        if not text.startswith("SIP/2.0 1"):
            return text


async def test_in_overload_credentials_pass_only_when_they_answer_a_fresh_challenge(
    switch: Softswitch,
) -> None:
    """Finishing work begun is what shedding is for, so a REGISTER answering the node's
    challenge is taken; credentials the node never asked for are no way past the shedding."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        phone.bind(("127.0.0.1", 0))
        phone.setblocking(False)
        port = phone.getsockname()[1]
        node = ("127.0.0.1", switch.sip_port)
        challenged = await exchange(phone, node, register(port, 1))
        assert challenged.startswith("SIP/2.0 401 ")
        challenge = header_value(challenged, "WWW-Authenticate")
        assert challenge is not None

        async with shedding(switch):
            made_up = challenge.replace(parse_challenge_params(challenge)["nonce"], "A" * 43)
            forged = answer_challenge(
                made_up, "5551003", "REGISTER", "sip:127.0.0.1", password="three-secret"
            )
            refused = await exchange(phone, node, register(port, 2, forged))
            assert refused.startswith("SIP/2.0 503 "), refused

            answered = answer_challenge(
                challenge, "5551003", "REGISTER", "sip:127.0.0.1", password="three-secret"
            )
            accepted = await exchange(phone, node, register(port, 3, answered))
            assert accepted.startswith("SIP/2.0 200 "), accepted
            assert switch.admission.shedding
    assert [b.contact for b in switch.location.bindings("5551003", time.time())] == [
        f"sip:5551003@127.0.0.1:{port}"
    ]


async def test_in_overload_a_trusted_phone_is_refused_like_any_other_and_taken_after(
    switch: Softswitch,
) -> None:
    """A REGISTER from a trusted network needs no credentials, which makes it no less new:
    in overload it takes its chance with the rest (503, a Retry-After), and once the load is
    gone it is registered without a challenge."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as phone:
        phone.bind((TRUSTED, 0))
        phone.setblocking(False)
        port = phone.getsockname()[1]
        node = ("127.0.0.1", switch.sip_port)
        async with shedding(switch):
            refused = await exchange(phone, node, register(port, 1, host=TRUSTED))
            assert refused.startswith("SIP/2.0 503 "), refused
            retry_after = header_value(refused, "Retry-After")
            low, high = REGISTER_RETRY_AFTER
            assert retry_after is not None and low <= int(retry_after) <= high
            assert switch.location.bindings("5551003", time.time()) == []
        await wait_until(lambda: not switch.admission.shedding, timeout=10)
        taken = await exchange(phone, node, register(port, 2, host=TRUSTED))
        assert taken.startswith("SIP/2.0 200 "), taken
    [binding] = switch.location.bindings("5551003", time.time())
    assert (binding.source_host, binding.contact) == (TRUSTED, f"sip:5551003@{TRUSTED}:{port}")


def ack(port: int, to_tag: str, call_id: str) -> bytes:
    """An ACK with no transaction here, for a line at 127.0.0.1:`port` (not this node)."""
    return (
        f"ACK sip:5552999@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{call_id}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:5551001@127.0.0.1>;tag=caller\r\n"
        f"To: <sip:5552999@127.0.0.1>;tag={to_tag}\r\n"
        f"Call-ID: {call_id}@test\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_the_ack_of_a_refusal_is_ignored_where_another_ack_is_passed_on(
    switch: Softswitch,
) -> None:
    """§8.2.7: the ACK of a stateless 503 stops here. An ACK for a 2xx with the same
    Request-URI is passed on (the control: without the check, both would be)."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as far_end,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller,
    ):
        far_end.bind(("127.0.0.1", 0))
        far_end.settimeout(0.05)
        port = far_end.getsockname()[1]
        node = ("127.0.0.1", switch.sip_port)
        caller.sendto(ack(port, "ovl-0badcafe", "refused"), node)
        caller.sendto(ack(port, "answered", "answered"), node)
        arrived: list[bytes] = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and len(arrived) < 2:
            await asyncio.sleep(0.05)
            with contextlib.suppress(TimeoutError):
                arrived.append(far_end.recv(65535))
    assert len(arrived) == 1
    assert b"Call-ID: answered@test" in arrived[0]
