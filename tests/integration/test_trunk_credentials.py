"""A peer exchange that authenticates its calls with digest credentials rather than by the
address of its trunk: its callers are its own subscribers, not lines of ours."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from softswitch.server import Softswitch
from softswitch.sip.digest import compute_ha1

from .calling import dial, registered, wait_until
from .conftest import REALM

pytestmark = pytest.mark.integration


@pytest.fixture
async def peer(switch: Softswitch) -> Softswitch:
    """Birchwood (BIR) is served elsewhere (a trunk at an address nobody calls from here) and
    may authenticate as user `birchwood`."""
    await switch.store.add_exchange("BIR", "Birchwood", "5552", trunk_uris=["sip:127.0.0.9:5060"])
    await switch.store.set_trunk_credentials(
        "BIR",
        "birchwood",
        compute_ha1("birchwood", REALM, "trunk-secret", "MD5"),
        compute_ha1("birchwood", REALM, "trunk-secret", "SHA-256"),
    )
    await wait_until(lambda: "birchwood" in switch.calls._trunk_users)  # type: ignore[union-attr]
    return switch


async def test_a_peer_exchange_authenticates_with_its_trunk_credentials(
    peer: Softswitch, phone_agent_factory: Any
) -> None:
    bob = await registered(phone_agent_factory, peer, "bob", "5551002", "two-secret")
    await bob.aio.set_auto_answer("bob", "answer")
    gateway = await asyncio.to_thread(phone_agent_factory, "birchwood")
    await gateway.aio.add_account(
        "gw", user="5552001", auth_user="birchwood", password="trunk-secret", register=False
    )
    call = await gateway.aio.call("gw", dial(peer, "5551002"))
    await gateway.aio.wait_call_state(call, "CONFIRMED", timeout=5)
    incoming = await bob.aio.wait_event("incoming_call")
    assert "Proxy-Authorization" not in incoming["msg"]  # our realm's credentials stop here
    assert "sip:5552001@" in incoming["msg"]  # the Birchwood subscriber is the caller
    await gateway.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    await peer.store.flush()
    records = await peer.store.list_cdrs(line="5551002")
    assert records and records[0].caller == "trunk:BIR"


async def test_a_wrong_trunk_password_is_refused(
    peer: Softswitch, phone_agent_factory: Any
) -> None:
    gateway = await asyncio.to_thread(phone_agent_factory, "intruder")
    await gateway.aio.add_account(
        "gw", user="5552001", auth_user="birchwood", password="guess", register=False
    )
    call = await gateway.aio.call("gw", dial(peer, "5551002"))
    ended = await gateway.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    assert ended["code"] in (403, 407)
