"""Calls between two county exchanges, each served by its own softswitch with its own database,
over SIP trunks: Ashford (ASH, 5551) on node A at 127.0.0.1, Birchley (BIR, 5552) on node B at
127.0.0.2. Each node trusts the other by the address in its trunk URI; phones authenticate."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent
from tests.conftest import created_database

from .calling import dial, header, registered
from .conftest import provision, switch_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]

HOST_A = "127.0.0.1"
HOST_B = "127.0.0.2"


@contextlib.asynccontextmanager
async def node(
    url: str, data_dir: Path, host: str, name: str, **settings: object
) -> AsyncIterator[Softswitch]:
    data_dir.mkdir()
    started = await Softswitch.open(
        switch_settings(data_dir, sip_host=host, node=name, **settings), url
    )
    try:
        await started.start()
        yield started
    finally:
        await started.stop()


@pytest.fixture
async def exchanges(
    database_url: str, fresh_database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Softswitch, Softswitch]]:
    """Node A serving ASH (line 5551001) and node B serving BIR (line 5552001); neither knows
    the other yet."""
    async with (
        created_database(database_url) as url_b,
        node(fresh_database_url, tmp_path / "a", HOST_A, "node-a") as a,
        node(url_b, tmp_path / "b", HOST_B, "node-b") as b,
    ):
        await provision(a.store, ("5551001", "one-secret"))
        await b.store.add_exchange("BIR", "Birchley", "5552")
        await provision(b.store, ("5552001", "bir-secret"), exchange="BIR")
        yield a, b


async def link(a: Softswitch, b: Softswitch, a_to_b: Sequence[str] | None = None) -> None:
    """Each node learns of the other exchange and its trunk."""
    trunk_b = f"sip:{HOST_B}:{b.sip_port}"
    await a.store.add_exchange("BIR", "Birchley", "5552", trunk_uris=a_to_b or [trunk_b])
    await b.store.add_exchange("ASH", "Ashford", "5551", trunk_uris=[f"sip:{HOST_A}:{a.sip_port}"])
    await a.reload_network()
    await b.reload_network()


async def phones(factory: Any, a: Softswitch, b: Softswitch) -> tuple[PhoneAgent, PhoneAgent]:
    alice, bob = await asyncio.gather(
        registered(factory, a, "alice", "5551001", "one-secret"),
        registered(factory, b, "bob", "5552001", "bir-secret"),
    )
    return alice, bob


def vias(message: dict[str, Any]) -> list[str]:
    return [part.strip() for value in header(message, "Via") for part in value.split(",")]


async def test_a_phone_on_one_exchange_calls_a_phone_on_the_other(
    exchanges: tuple[Softswitch, Softswitch], phone_agent_factory: Any
) -> None:
    a, b = exchanges
    await link(a, b)
    alice, bob = await phones(phone_agent_factory, a, b)
    await bob.aio.set_auto_answer("bob", "answer", delay=0.2)

    call = await alice.aio.call("alice", dial(a, "5552001"))
    incoming = await bob.aio.wait_event("incoming_call")
    assert incoming["source"] == f"{HOST_B}:{b.sip_port}"
    assert header(incoming, "Record-Route") == [
        f"<sip:{HOST_B}:{b.sip_port};transport=udp;lr>",
        f"<sip:{HOST_A}:{a.sip_port};transport=udp;lr>",
    ]
    # alice authenticated with A; B trusted A by its address and did not challenge. Alice's
    # events come from her own agent process, which may report after Bob's: waited for.
    await alice.aio.wait_event("sip_msg", direction="rx", status=407, cseq_method="INVITE")
    assert not header(incoming, "Proxy-Authorization")
    await alice.aio.wait_call_state(call, "CONFIRMED")
    await bob.aio.wait_event("call_state", call=incoming["call"], state="CONFIRMED")

    await asyncio.sleep(1.2)
    a_stats = await alice.aio.stats(call)
    b_stats = await bob.aio.stats(incoming["call"])
    assert a_stats["rx_packets"] > 20 and b_stats["rx_packets"] > 20, (a_stats, b_stats)

    await alice.aio.hangup(call)
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    (bye,) = bob.sip_messages(direction="rx", method="BYE")
    assert bye["remote"] == f"{HOST_B}:{b.sip_port}"
    # the BYE went through A, then B
    sent_by = [v.split()[1].split(";")[0] for v in vias(bye)]
    assert sent_by[:2] == [f"{HOST_B}:{b.sip_port}", f"{HOST_A}:{a.sip_port}"]
    await alice.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")


async def test_a_dead_trunk_is_passed_over_for_the_next_one(
    exchanges: tuple[Softswitch, Softswitch], phone_agent_factory: Any
) -> None:
    a, b = exchanges
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
        # a peer that takes the INVITE and never answers
        black_hole.bind((HOST_B, 0))
        black_hole.setblocking(False)
        dead = f"sip:{HOST_B}:{black_hole.getsockname()[1]}"
        await link(a, b, [dead, f"sip:{HOST_B}:{b.sip_port}"])
        assert a.calls is not None
        a.calls.trunk_timeout = 0.5
        alice, bob = await phones(phone_agent_factory, a, b)
        await bob.aio.set_auto_answer("bob", "answer")

        started = time.monotonic()
        call = await alice.aio.call("alice", dial(a, "5552001"))
        incoming = await bob.aio.wait_event("incoming_call", timeout=4)
        await alice.aio.wait_call_state(call, "CONFIRMED", timeout=4)
        assert time.monotonic() - started < 3
        first_try = black_hole.recv(65535)
    assert first_try.startswith(b"INVITE sip:5552001@")

    # the callee hangs up: its BYE goes back through B and A
    await bob.aio.hangup(incoming["call"])
    await alice.aio.wait_call_state(call, "DISCONNECTED")
    (bye,) = alice.sip_messages(direction="rx", method="BYE")
    assert bye["remote"] == f"{HOST_A}:{a.sip_port}"
    sent_by = [v.split()[1].split(";")[0] for v in vias(bye)]
    assert sent_by[:2] == [f"{HOST_A}:{a.sip_port}", f"{HOST_B}:{b.sip_port}"]
    await bob.aio.wait_event("call_state", call=incoming["call"], state="DISCONNECTED")


async def test_all_trunks_dead_gives_the_caller_an_answer_in_time(
    exchanges: tuple[Softswitch, Softswitch], phone_agent_factory: Any
) -> None:
    a, b = exchanges
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
        black_hole.bind((HOST_B, 0))
        dead = f"sip:{HOST_B}:{black_hole.getsockname()[1]}"
        await link(a, b, [dead, dead.replace("sip:", "sip:5552000@")])
        assert a.calls is not None
        a.calls.trunk_timeout = 0.5
        alice = await registered(phone_agent_factory, a, "alice", "5551001", "one-secret")
        call = await alice.aio.call("alice", dial(a, "5552001"))
        ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=4)
    assert ended["code"] == 408


async def test_an_unanswered_invite_is_sent_again_on_the_configured_t1(
    fresh_database_url: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """On a network known to be fast, T1 is set to 50 ms: the INVITE to a trunk that does not
    answer goes again after T1, then after 2, 4, 8 times T1 (Timer A, §17.1.1.2), instead of
    after 500 ms."""
    t1 = 0.05
    async with node(fresh_database_url, tmp_path / "a", HOST_A, "node-a", sip_t1=t1) as a:
        await provision(a.store, ("5551001", "one-secret"))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
            black_hole.bind((HOST_B, 0))
            black_hole.setblocking(False)
            trunk = f"sip:{HOST_B}:{black_hole.getsockname()[1]}"
            await a.store.add_exchange("BIR", "Birchley", "5552", trunk_uris=[trunk])
            await a.reload_network()
            alice = await registered(phone_agent_factory, a, "alice", "5551001", "one-secret")
            await alice.aio.call("alice", dial(a, "5552001"))
            loop = asyncio.get_running_loop()
            arrivals: list[tuple[float, bytes]] = []
            deadline = loop.time() + 3.0
            while len(arrivals) < 5:
                left = deadline - loop.time()
                data = await asyncio.wait_for(loop.sock_recv(black_hole, 65535), left)
                arrivals.append((loop.time(), data))
    copies = {data for _, data in arrivals}
    assert len(copies) == 1 and next(iter(copies)).startswith(b"INVITE sip:5552001@")
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(arrivals)]
    assert 0.8 * t1 <= gaps[0] < 0.3, gaps  # T1, not the default 500 ms
    assert 0.8 * 8 * t1 <= gaps[3] < 0.3 + 8 * t1, gaps  # doubled three times


async def test_a_trunk_loop_between_two_exchanges_is_detected(
    exchanges: tuple[Softswitch, Softswitch], phone_agent_factory: Any
) -> None:
    """A misconfigured network: each node sends 5559 to the other. The request coming back
    unchanged is a loop (RFC 3261 §16.3 step 4), not a spiral to follow 70 hops."""
    a, b = exchanges
    await a.store.add_exchange("LOOP", "Loopley", "5559", trunk_uris=[f"sip:{HOST_B}:{b.sip_port}"])
    await b.store.add_exchange("LOOP", "Loopley", "5559", trunk_uris=[f"sip:{HOST_A}:{a.sip_port}"])
    await a.reload_network()
    await b.reload_network()
    alice = await registered(phone_agent_factory, a, "alice", "5551001", "one-secret")
    call = await alice.aio.call("alice", dial(a, "5559001"))
    ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=4)
    assert ended["code"] == 482
