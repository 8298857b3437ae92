"""Calls between desk phones (pjsua2) through the stateful proxy, with media phone to phone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent

from .calling import dial, header, invites_received, registered

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]


@pytest.fixture
async def alice_and_bob(
    switch: Softswitch, phone_agent_factory: Any
) -> tuple[PhoneAgent, PhoneAgent]:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    return alice, bob


async def assert_media_both_ways(
    a: PhoneAgent, a_call: str, b: PhoneAgent, b_call: str, packets: int = 20
) -> None:
    await asyncio.sleep(1.2)
    a_stats = await a.aio.stats(a_call)
    b_stats = await b.aio.stats(b_call)
    assert a_stats["rx_packets"] > packets, a_stats
    assert b_stats["rx_packets"] > packets, b_stats


async def test_a_calls_b_they_talk_and_a_hangs_up(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    await bob.aio.set_auto_answer("bob", "answer", delay=0.3)
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    incoming = await bob.aio.wait_event("incoming_call", timeout=5)
    assert "Record-Route:" in incoming["msg"]
    await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="CONFIRMED")
    await assert_media_both_ways(alice, call, bob, incoming["call"])
    await alice.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    # the BYE came to the callee through the proxy (its Route set), and was answered
    byes = bob.sip_messages(direction="rx", method="BYE")
    assert byes and byes[0]["remote"] == f"127.0.0.1:{switch.sip_port}"
    await alice.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")


async def test_callee_hangs_up_and_the_bye_goes_back_through_the_proxy(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    await bob.aio.set_auto_answer("bob", "answer")
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    incoming = await bob.aio.wait_event("incoming_call")
    await alice.aio.wait_call_state(call, "CONFIRMED")
    await bob.aio.hangup(incoming["call"])
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    byes = alice.sip_messages(direction="rx", method="BYE")
    assert byes and byes[0]["remote"] == f"127.0.0.1:{switch.sip_port}"
    await bob.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")


async def test_busy_callee_gives_the_caller_486(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    await bob.aio.set_auto_answer("bob", "reject", code=486)
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED")
    assert ended["code"] == 486
    incoming = await bob.aio.wait_event("incoming_call")
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    # the proxy answered the callee's 486 with its ACK: no retransmissions of the 486
    await asyncio.sleep(0.7)
    assert len(bob.sip_messages(direction="tx", status=486)) == 1


async def test_nobody_answers_and_timer_c_ends_the_call(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    assert switch.proxy is not None
    switch.proxy.timer_c = 1.5
    alice, bob = alice_and_bob  # bob's phone only rings (the agent's default)
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "EARLY")
    incoming = await bob.aio.wait_event("incoming_call")
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] == 408, ended["reason"]
    callee = await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    assert callee["code"] == 487
    assert bob.sip_messages(direction="rx", method="CANCEL")
    assert not bob.events("call_state", call=incoming["call"], state="CONFIRMED")


async def test_caller_cancels_while_it_rings(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "EARLY")
    incoming = await bob.aio.wait_event("incoming_call")
    await alice.aio.hangup(call)
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED")
    assert ended["code"] == 487
    callee = await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    assert callee["code"] == 487
    assert bob.sip_messages(direction="rx", method="CANCEL")
    assert not bob.events("call_state", call=incoming["call"], state="CONFIRMED")


async def test_unknown_number_is_404(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    call = await alice.aio.call("alice", dial(switch, "5551999"))
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED")
    assert ended["code"] == 404
    assert not invites_received(bob)


async def test_line_without_a_registered_phone_is_480(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED")
    assert ended["code"] == 480


async def test_a_line_on_two_phones_rings_both_and_the_first_to_answer_wins(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
    desk = await registered(phone_agent_factory, switch, "desk", "5551002", "two-secret")
    kitchen = await registered(phone_agent_factory, switch, "kitchen", "5551002", "two-secret")
    await desk.aio.set_auto_answer("desk", "manual")
    assert len(switch.location.bindings("5551002", time.time())) == 2

    call = await alice.aio.call("alice", dial(switch, "5551002"))
    at_desk = await desk.aio.wait_event("incoming_call")
    in_kitchen = await kitchen.aio.wait_event("incoming_call")
    await alice.aio.wait_call_state(call, "EARLY")
    await desk.aio.answer(at_desk["call"])
    await alice.aio.wait_call_state(call, "CONFIRMED")
    await desk.aio.wait_event("call_state", call=at_desk["call"], state="CONFIRMED")
    # the kitchen phone stops ringing: its branch is cancelled, never answered
    stopped = await kitchen.aio.wait_event(
        "call_state", call=in_kitchen["call"], state="DISCONNECTED"
    )
    assert stopped["code"] == 487
    assert kitchen.sip_messages(direction="rx", method="CANCEL")
    assert not kitchen.events("call_state", call=in_kitchen["call"], state="CONFIRMED")

    await assert_media_both_ways(alice, call, desk, at_desk["call"])
    await alice.aio.hangup(call)
    await desk.aio.wait_event("call_state", call=at_desk["call"], state="DISCONNECTED")
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    assert not kitchen.sip_messages(direction="rx", method="BYE")


async def test_invite_is_challenged_and_the_phone_answers_with_proxy_authorization(
    switch: Softswitch, alice_and_bob: tuple[PhoneAgent, PhoneAgent]
) -> None:
    alice, bob = alice_and_bob
    await bob.aio.set_auto_answer("bob", "answer")
    call = await alice.aio.call("alice", dial(switch, "5551002"))
    await alice.aio.wait_call_state(call, "CONFIRMED")
    invites = alice.sip_messages(direction="tx", method="INVITE")
    assert len(invites) == 2
    assert not header(invites[0], "Proxy-Authorization")
    challenge = alice.sip_messages(direction="rx", status=407, cseq_method="INVITE")
    assert challenge and header(challenge[0], "Proxy-Authenticate")
    assert 'username="5551001"' in header(invites[1], "Proxy-Authorization")[0]
    # our credentials stop at the proxy (RFC 3261 §22.3)
    (forwarded,) = invites_received(bob)
    assert not header(forwarded, "Proxy-Authorization")
    await alice.aio.hangup(call)
    await alice.aio.wait_call_state(call, "DISCONNECTED")


async def test_wrong_password_cannot_place_a_call(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    bob = await registered(phone_agent_factory, switch, "bob", "5551002", "two-secret")
    await bob.aio.set_auto_answer("bob", "answer")
    mallory: PhoneAgent = await asyncio.to_thread(phone_agent_factory, "mallory")
    await mallory.aio.add_account(
        "mallory", user="5551001", password="not-the-secret", register=False
    )
    call = await mallory.aio.call("mallory", dial(switch, "5551002"))
    ended = await mallory.aio.wait_call_state(call, "DISCONNECTED")
    assert ended["code"] in (403, 407)
    assert mallory.sip_messages(direction="rx", status=407, cseq_method="INVITE")
    assert not invites_received(bob)


@pytest.mark.parametrize(
    ("caller_transport", "callee_transport", "hangs_up"),
    [("tcp", "udp", "caller"), ("udp", "tcp", "caller"), ("tcp", "udp", "callee")],
)
async def test_phones_on_different_transports_talk_and_hang_up(
    switch: Softswitch,
    phone_agent_factory: Any,
    caller_transport: str,
    callee_transport: str,
    hangs_up: str,
) -> None:
    """The proxy records its route twice when the call changes transport (RFC 5658), so each
    phone sends its in-dialog requests over its own transport."""
    alice = await registered(
        phone_agent_factory, switch, "alice", "5551001", "one-secret", transport=caller_transport
    )
    bob = await registered(
        phone_agent_factory, switch, "bob", "5551002", "two-secret", transport=callee_transport
    )
    await bob.aio.set_auto_answer("bob", "answer")
    call = await alice.aio.call("alice", dial(switch, "5551002", caller_transport))
    incoming = await bob.aio.wait_event("incoming_call")
    port = switch.sip_port
    assert header(incoming, "Record-Route") == [
        f"<sip:127.0.0.1:{port};transport={callee_transport};lr>",
        f"<sip:127.0.0.1:{port};transport={caller_transport};lr>",
    ]
    await alice.aio.wait_call_state(call, "CONFIRMED")
    await bob.aio.wait_event("call_state", call=incoming["call"], state="CONFIRMED")
    await assert_media_both_ways(alice, call, bob, incoming["call"], packets=10)
    if hangs_up == "caller":
        await alice.aio.hangup(call)
        await alice.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")
    else:
        await bob.aio.hangup(incoming["call"])
        await bob.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    for phone, transport in ((alice, caller_transport), (bob, callee_transport)):
        in_dialog = phone.sip_messages(method="BYE") + phone.sip_messages(method="ACK")
        assert in_dialog and {m["transport"].lower() for m in in_dialog} == {transport}
