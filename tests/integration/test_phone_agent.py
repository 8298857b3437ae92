"""The pjsua2 phone agent on its own: two phones calling each other directly."""

from __future__ import annotations

import time

import pytest

from tests.agents import fixtures
from tests.agents.fixtures import PhoneFactory
from tests.agents.phones import PhoneAgent, PhoneAgentError, PhoneAgentTimeout

pytestmark = pytest.mark.integration

# Registers the fixture for this module (redundant once a conftest provides it).
phone_agent_factory = fixtures.phone_agent_factory


def _two_phones(make: PhoneFactory, transport: str = "udp") -> tuple[PhoneAgent, PhoneAgent]:
    alice = make("alice")
    bob = make("bob")
    alice.add_account("alice", register=False, transport=transport)
    bob.add_account("bob", register=False, transport=transport)
    return alice, bob


def _target(phone: PhoneAgent, user: str, transport: str) -> str:
    if transport == "tcp":
        return f"sip:{user}@127.0.0.1:{phone.tcp_port};transport=tcp"
    return f"sip:{user}@127.0.0.1:{phone.udp_port}"


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_direct_call_connects_and_carries_rtp_both_ways(
    phone_agent_factory: PhoneFactory,
    transport: str,
) -> None:
    alice, bob = _two_phones(phone_agent_factory, transport)
    bob.set_auto_answer("bob", mode="answer", code=200)

    target = _target(bob, "bob", transport)
    out_call = alice.call("alice", target, headers={"X-Test-Case": "direct"})

    incoming = bob.wait_event("incoming_call", account="bob")
    assert incoming["request_uri"] == target
    assert incoming["msg"].startswith(f"INVITE {target} SIP/2.0")
    assert ["X-Test-Case", "direct"] in incoming["headers"]
    assert "sip:alice@127.0.0.1" in incoming["from_uri"]
    in_call = incoming["call"]

    # The caller's 200 OK arrives with CONNECTING; CONFIRMED follows the ACK.
    connecting = alice.wait_call_state(out_call, "CONNECTING")
    assert connecting["msg"].startswith("SIP/2.0 200")
    assert alice.wait_call_state(out_call, "CONFIRMED")["code"] == 200
    bob.wait_call_state(in_call, "CONFIRMED")
    alice.wait_event("call_media", call=out_call, status="ACTIVE")
    bob.wait_event("call_media", call=in_call, status="ACTIVE")

    time.sleep(1.0)
    caller_stats = alice.stats(out_call)
    callee_stats = bob.stats(in_call)
    assert caller_stats["rx_packets"] > 10, caller_stats
    assert caller_stats["tx_packets"] > 10, caller_stats
    assert callee_stats["rx_packets"] > 10, callee_stats
    assert callee_stats["tx_packets"] > 10, callee_stats
    assert caller_stats["codec"] == "PCMU"

    alice.hangup(out_call)
    ended = bob.wait_call_state(in_call, "DISCONNECTED")
    assert ended["stats"]["rx_packets"] > 10
    alice.wait_call_state(out_call, "DISCONNECTED")

    alice.close()
    bob.close()
    assert alice.proc.returncode == 0
    assert bob.proc.returncode == 0


def test_auto_reject_486_reaches_caller(phone_agent_factory: PhoneFactory) -> None:
    alice, bob = _two_phones(phone_agent_factory)
    bob.set_auto_answer("bob", mode="reject", code=486)

    out_call = alice.call("alice", _target(bob, "bob", "udp"))

    bob.wait_event("incoming_call", account="bob")
    ended = alice.wait_call_state(out_call, "DISCONNECTED")
    assert ended["code"] == 486
    assert ended["msg"].startswith("SIP/2.0 486")
    assert not alice.events("call_state", call=out_call, state="CONFIRMED")


def test_manual_ring_then_decline(phone_agent_factory: PhoneFactory) -> None:
    alice, bob = _two_phones(phone_agent_factory)
    bob.set_auto_answer("bob", mode="manual")

    out_call = alice.call("alice", _target(bob, "bob", "udp"))
    in_call = bob.wait_event("incoming_call", account="bob")["call"]

    bob.answer(in_call, code=180)
    early = alice.wait_call_state(out_call, "EARLY")
    assert early["code"] == 180

    bob.hangup(in_call, code=603)
    assert alice.wait_call_state(out_call, "DISCONNECTED")["code"] == 603
    with pytest.raises(PhoneAgentError, match="has ended"):
        bob.hangup(in_call)


def test_waits_time_out_with_context(phone_agent_factory: PhoneFactory) -> None:
    phone = phone_agent_factory("lonely")
    phone.add_account("lonely", register=False)

    started = time.monotonic()
    with pytest.raises(PhoneAgentTimeout, match="recent events") as info:
        phone.wait_event("incoming_call", timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert '"event": "ready"' in str(info.value)

    with pytest.raises(PhoneAgentError, match="unknown account"):
        phone.call("nobody", "sip:x@127.0.0.1:9")
