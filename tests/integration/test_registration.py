"""Desk phones (pjsua2) register with the softswitch; bindings land in PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent

from .conftest import provision, switch_settings

pytestmark = pytest.mark.integration


def registrar_uri(switch: Softswitch, transport: str = "udp") -> str:
    suffix = ";transport=tcp" if transport == "tcp" else ""
    return f"sip:127.0.0.1:{switch.sip_port}{suffix}"


async def wait_for(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
def phone(phone_agent: PhoneAgent) -> PhoneAgent:
    return phone_agent


@pytest.mark.parametrize(
    ("transport", "algorithm"), [("udp", "any"), ("tcp", "any"), ("udp", "MD5"), ("tcp", "MD5")]
)
async def test_phone_registers_with_digest_and_binding_is_stored(
    switch: Softswitch, phone: PhoneAgent, transport: str, algorithm: str
) -> None:
    await phone.aio.add_account(
        "a",
        user="5551001",
        registrar=registrar_uri(switch, transport),
        password="one-secret",
        transport=transport,
        reg_timeout=120,
        realm="county.test",
        auth_algorithm=algorithm,
    )
    event = await phone.aio.wait_event("reg_state", account="a", code=200)
    assert 100 <= event["expiration"] <= 120

    stored = await switch.store.load_bindings(time.time(), line="5551001")
    assert len(stored) == 1
    binding = stored[0]
    assert binding.source_transport == transport
    assert binding.source_host == "127.0.0.1"
    assert binding.node == "node-a"
    assert binding.contact.startswith("sip:5551001@127.0.0.1:")
    assert 100 <= binding.expires_in(time.time()) <= 121
    assert [b.contact for b in switch.location.bindings("5551001")] == [binding.contact]


async def test_sha256_is_offered_first_and_answered(switch: Softswitch, phone: PhoneAgent) -> None:
    await phone.aio.add_account(
        "a", user="5551001", registrar=registrar_uri(switch), password="one-secret"
    )
    await phone.aio.wait_event("reg_state", account="a", code=200)
    # pjsua2 answers the first challenge of a shared nonce: ours is SHA-256 (RFC 8760 §2.4).
    log = phone.log_path.read_text(errors="replace")
    assert "algorithm=SHA-256" in log


async def test_wrong_password_never_gets_200(switch: Softswitch, phone: PhoneAgent) -> None:
    await phone.aio.add_account(
        "a", user="5551001", registrar=registrar_uri(switch), password="not-it"
    )
    event = await phone.aio.wait_event("reg_state", account="a", code=lambda c: c >= 400)
    assert event["code"] in (401, 403)
    await asyncio.sleep(0.3)
    assert not phone.events("reg_state", account="a", code=200)
    assert await switch.store.load_bindings(time.time(), line="5551001") == []


async def test_unknown_line_is_answered_like_a_wrong_password(
    switch: Softswitch, phone: PhoneAgent
) -> None:
    await phone.aio.add_account(
        "wrong", user="5551001", registrar=registrar_uri(switch), password="not-it"
    )
    await phone.aio.add_account(
        "unknown", user="5559999", registrar=registrar_uri(switch), password="not-it"
    )
    wrong = await phone.aio.wait_event("reg_state", account="wrong", code=lambda c: c >= 400)
    unknown = await phone.aio.wait_event("reg_state", account="unknown", code=lambda c: c >= 400)
    assert (wrong["code"], wrong["reason"]) == (unknown["code"], unknown["reason"])


async def test_refresh_and_unregister(switch: Softswitch, phone: PhoneAgent) -> None:
    await phone.aio.add_account(
        "a", user="5551001", registrar=registrar_uri(switch), password="one-secret", reg_timeout=60
    )
    await phone.aio.wait_event("reg_state", account="a", code=200)
    first = (await switch.store.load_bindings(time.time(), line="5551001"))[0]

    await asyncio.sleep(1.1)
    await phone.aio.register("a")
    await phone.aio.wait_event("reg_state", account="a", code=200)
    refreshed = (await switch.store.load_bindings(time.time(), line="5551001"))[0]
    assert refreshed.contact == first.contact
    assert refreshed.call_id == first.call_id
    assert refreshed.cseq > first.cseq
    assert refreshed.expires_at > first.expires_at

    await phone.aio.unregister("a")
    await phone.aio.wait_event("reg_state", account="a", expiration=0)
    assert await switch.store.load_bindings(time.time(), line="5551001") == []
    assert switch.location.bindings("5551001") == []


async def test_two_devices_on_one_line(switch: Softswitch, phone_agent_factory) -> None:  # type: ignore[no-untyped-def]
    desk = await asyncio.to_thread(phone_agent_factory, "desk")
    kitchen = await asyncio.to_thread(phone_agent_factory, "kitchen")
    for agent in (desk, kitchen):
        await agent.aio.add_account(
            "a", user="5551002", registrar=registrar_uri(switch), password="two-secret"
        )
        await agent.aio.wait_event("reg_state", account="a", code=200)
    stored = await switch.store.load_bindings(time.time(), line="5551002")
    ports = sorted(int(b.contact.rsplit(":", 1)[1].split(";")[0]) for b in stored)
    assert ports == sorted([desk.udp_port, kitchen.udp_port])
    # the 200 OK lists every current contact of the line
    ok = desk.sip_messages("rx", status=200)[-1]
    assert ok["msg"].count("Contact:") + ok["msg"].count("m:") >= 2


async def test_min_expires_is_enforced_with_423(
    fresh_database_url: str, tmp_path: Path, phone: PhoneAgent
) -> None:
    node = await Softswitch.open(switch_settings(tmp_path, min_expires=90), fresh_database_url)
    await provision(node.store, ("5551001", "one-secret"))
    await node.start()
    try:
        await phone.aio.add_account(
            "a",
            user="5551001",
            registrar=registrar_uri(node),
            password="one-secret",
            reg_timeout=30,
        )
        # pjsua2 retries with the Min-Expires of the 423 answer (RFC 3261 §10.2.8)
        event = await phone.aio.wait_event("reg_state", account="a", code=200)
        assert event["expiration"] >= 90
        binding = (await node.store.load_bindings(time.time(), line="5551001"))[0]
        assert binding.expires_in(time.time()) >= 85
    finally:
        await node.stop()


async def test_bindings_survive_a_restart(
    fresh_database_url: str, tmp_path: Path, phone: PhoneAgent
) -> None:
    first = await Softswitch.open(switch_settings(tmp_path), fresh_database_url)
    await provision(first.store, ("5551001", "one-secret"))
    await first.start()
    port = first.sip_port
    try:
        await phone.aio.add_account(
            "a", user="5551001", registrar=registrar_uri(first), password="one-secret"
        )
        await phone.aio.wait_event("reg_state", account="a", code=200)
        contact = first.location.bindings("5551001")[0].contact
    finally:
        await first.stop()

    second = await Softswitch.open(switch_settings(tmp_path, sip_port=port), fresh_database_url)
    await second.start()
    try:
        assert [b.contact for b in second.location.bindings("5551001")] == [contact]
        # and the phone's next refresh is accepted by the new process (stale nonce, no prompt)
        await phone.aio.register("a")
        await phone.aio.wait_event("reg_state", account="a", code=200)
    finally:
        await second.stop()


async def test_expired_bindings_disappear(
    fresh_database_url: str, tmp_path: Path, phone: PhoneAgent
) -> None:
    node = await Softswitch.open(switch_settings(tmp_path), fresh_database_url, expiry_sweep=0.2)
    await provision(node.store, ("5551001", "one-secret"))
    await node.start()
    try:
        await phone.aio.add_account(
            "a", user="5551001", registrar=registrar_uri(node), password="one-secret", reg_timeout=2
        )
        await phone.aio.wait_event("reg_state", account="a", code=200)
        await phone.aio.quit(unregister=False)  # the phone goes away without a word

        async def gone() -> bool:
            stored = await node.store.load_bindings(0.0, line="5551001")
            return not stored and not node.location.bindings("5551001")

        await wait_for(gone, timeout=6.0)
    finally:
        await node.stop()
