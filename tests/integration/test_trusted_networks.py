"""Phones on a trusted source network (`trusted_networks`) register and call without digest
credentials; everyone else is still challenged. The node listens on 127.0.0.1 and trusts
127.0.0.2 only: pjsua2 phones bound to each address."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.server import Softswitch
from softswitch.sip import Response, parse_message

from .calling import dial, registered
from .conftest import two_line_switch

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]

TRUSTED = "127.0.0.2"


@pytest.fixture
async def switch(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    """Lines 5551001 (one-secret) and 5551002 (two-secret); 127.0.0.2 trusted."""
    async with two_line_switch(
        fresh_database_url, tmp_path, trusted_networks=f"{TRUSTED}/32"
    ) as node:
        yield node


def registrar(switch: Softswitch) -> str:
    return f"sip:127.0.0.1:{switch.sip_port}"


async def test_a_phone_on_the_trusted_network_registers_and_calls_without_credentials(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    desk = await asyncio.to_thread(phone_agent_factory, "desk", host=TRUSTED)
    await desk.aio.add_account("desk", user="5551001", registrar=registrar(switch))
    await desk.aio.wait_event("reg_state", account="desk", code=200)
    assert not desk.sip_messages(direction="rx", status=401)
    [binding] = await switch.store.load_bindings(time.time(), line="5551001")
    assert binding.source_host == TRUSTED

    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    await bob.aio.set_auto_answer("bob", "answer", delay=0.2)
    call = await desk.aio.call("desk", dial(switch, "5551002"))
    incoming = await bob.aio.wait_event("incoming_call", timeout=5)
    await desk.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    assert not desk.sip_messages(direction="rx", status=407)
    await desk.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")

    # and bob, calling from an untrusted address, reaches the desk phone by its binding
    back = await bob.aio.call("bob", dial(switch, "5551001"))
    ringing = await desk.aio.wait_event("incoming_call", timeout=5)
    # bob had to answer a challenge (its agent reports what it received as it goes)
    await bob.aio.wait_event("sip_msg", direction="rx", status=407, timeout=5)
    await desk.aio.hangup(ringing["call"])
    await bob.aio.wait_event("call_state", call=back, state="DISCONNECTED")

    await switch.store.flush()
    records = await switch.store.list_cdrs(line="5551002")
    callers = sorted((r.caller, r.number, r.disposition) for r in records)
    assert callers == [("5551001", "5551002", "answered"), ("5551002", "5551001", "rejected")]


async def test_a_phone_elsewhere_without_credentials_is_challenged_and_not_registered(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    phone = await asyncio.to_thread(phone_agent_factory, "outside")
    await phone.aio.add_account("outside", user="5551001", registrar=registrar(switch))
    await phone.aio.wait_event("reg_state", account="outside", code=401)
    assert await switch.store.load_bindings(time.time(), line="5551001") == []


def register_from(
    switch: Softswitch, host: str, from_line: str, to_line: str, call_id: str
) -> Response:
    """One REGISTER sent from `host` with no credentials, and the node's answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        sock.sendto(
            (
                f"REGISTER sip:127.0.0.1:{switch.sip_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id}\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:{from_line}@127.0.0.1>;tag=t{call_id}\r\n"
                f"To: <sip:{to_line}@127.0.0.1>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 1 REGISTER\r\n"
                f"Contact: <sip:{from_line}@{host}:{port}>\r\n"
                "Expires: 300\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", switch.sip_port),
        )
        answer = parse_message(sock.recv(65535))
    assert isinstance(answer, Response)
    return answer


@pytest.mark.parametrize(
    ("host", "from_line", "to_line", "status"),
    [
        (TRUSTED, "5551001", "5551002", 403),  # a line registers only itself
        (TRUSTED, "5559999", "5559999", 404),  # not a line of this exchange
        ("127.0.0.1", "5551002", "5551002", 401),  # not trusted: challenged
        ("127.0.0.3", "5551002", "5551002", 401),
    ],
)
async def test_what_a_register_without_credentials_gets(
    switch: Softswitch, host: str, from_line: str, to_line: str, status: int
) -> None:
    answer = await asyncio.to_thread(
        register_from, switch, host, from_line, to_line, f"{status}-{host}"
    )
    assert answer.status == status
    assert await switch.store.load_bindings(time.time(), line=to_line) == []
