"""The operator connects beyond this exchange's registered phones: to a line of another
exchange over its SIP trunk, and to a line of a manual board over that board's trunk (the
gateway in front of the old switchboard), which learns the line's jack from `X-Jack-Label`.

sipp plays the board gateway (127.0.0.2) and the peer exchange (127.0.0.3): the softswitch
trusts trunks by address, so they must not share the phones' 127.0.0.1. Real pjsua2 phones,
real PostgreSQL, the real console API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from softswitch.queue import add_operator
from softswitch.server import Softswitch
from softswitch.switchboard import Waiting

from .calling import (
    SippRun,
    connect,
    dial,
    free_udp_port,
    queued_with_operator,
    registered,
    start_sipp,
    wait_until,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("no_errors_logged", "queue_follows_the_calls"),
]


@pytest.fixture
def queue_follows_the_calls(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The queue service's record (what every console shows) takes each step of the SIP side:
    none of the switchboard's updates to it is refused."""
    yield
    refused = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)  # type: ignore[arg-type]
        if record.getMessage().startswith("queue update failed")
    ]
    assert not refused, refused


BOARD_HOST = "127.0.0.2"  # the gateway in front of Cedar Falls' manual board
PEER_HOST = "127.0.0.3"  # Birchwood's softswitch
OPERATOR_PASSWORD = "a-long-operator-password"
CSRF = {"X-Console": "1"}

# Dialed calls for Cedar Falls wait for an operator here (a `queue` rule), although the
# exchange has a board trunk; 82xxx is the old tie line to Birchwood.
PLAN = """
[[rule]]
name = "ashford"
pattern = "_5551XXX"
deliver = { exchange = "ASH" }

[[rule]]
name = "birchwood-tie-line"
pattern = "_82XXX"
rewrite = { strip = 2, prepend = "5552" }

[[rule]]
name = "birchwood"
prefix = "5552"
deliver = { exchange = "BIR" }

[[rule]]
name = "cedar-falls"
pattern = "_5553XXX"
queue = { exchange = "CED" }
"""


async def network(switch: Softswitch, board: Sequence[str] = (), peer: Sequence[str] = ()) -> None:
    """Cedar Falls (CED), a manual board with line 5553001 on jack J-1 and `board` as its
    board trunk; Birchwood (BIR), automated, behind the trunk `peer`."""
    await switch.store.add_exchange("CED", "Cedar Falls", "5553", "manual", trunk_uris=board)
    await switch.store.add_line("5553001", "CED", "Cedar Falls 3001", jack_label="J-1")
    await switch.store.add_exchange("BIR", "Birchwood", "5552", trunk_uris=peer)
    await switch.reload_network()
    version = await switch.store.save_dialplan({"plan.toml": PLAN}, "switchboard trunks")
    await wait_until(lambda: switch.dialplan_version == version)


SPEECH = Path("/usr/share/sip-tester/g711a.pcap")  # what the answering scenario plays


async def start_gateway(
    sipp: str, tmp_path: Path, name: str, host: str, scenario: str = "uas_offer_in_answer.xml"
) -> tuple[SippRun, str]:
    """A sipp UAS on `host` that plays speech and echoes the media it gets; returns it and
    its trunk URI."""
    if not SPEECH.exists():
        pytest.skip(f"{SPEECH} (Debian package sip-tester) is missing")
    port = free_udp_port(host)
    args = [
        *("-i", host, "-p", str(port), "-mi", host, "-mp", str(free_udp_port(host))),
        *("-rtp_echo", "-m", "1", "-timeout", "20", "-timeout_error"),
    ]
    run = await start_sipp(sipp, tmp_path / name, name, scenario, args)
    return run, f"sip:{host}:{port}"


def received(run: SippRun, method: str) -> list[str]:
    """The requests `method` sipp received, as text, from its message trace."""
    log = (run.workdir / "messages.log").read_text(errors="replace")
    messages = []
    for chunk in log.split("----------------------------------------------- ")[1:]:
        head, _, message = chunk.partition("\n\n")
        if "message received" in head and message.startswith(f"{method} "):
            messages.append(message.replace("\r\n", "\n"))
    return messages


def headers(message: str, name: str) -> list[str]:
    head = message.split("\n\n", 1)[0]
    return [
        line.split(":", 1)[1].strip()
        for line in head.split("\n")[1:]
        if line.split(":", 1)[0].strip().lower() == name.lower()
    ]


async def caller_with_operator(
    switch: Softswitch, phone_agent_factory: Any
) -> tuple[Any, str, Any, dict[str, Any], Waiting]:
    """Caller 5551001 queued for 5553001 (jack J-1) and taken by the operator on 5551002.
    Returns (caller, call, operator, the operator's call event, the queue entry)."""
    taken = await queued_with_operator(switch, phone_agent_factory)
    assert taken.entry.jack_label == "J-1"
    return taken.caller, taken.call, taken.operator, taken.at_operator, taken.entry


async def connected_and_talking(
    caller: Any,
    call: str,
    operator: Any,
    at_operator: dict[str, Any],
    entry: Waiting,
    far_end: str,
) -> None:
    """The operator's leg is released and the caller hears the far end: media flows phone to
    gateway, not through the softswitch."""
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
    await wait_until(lambda: entry.state == "connected")
    before = (await caller.aio.stats(call))["rx_packets"]
    await asyncio.sleep(1.0)
    after = (await caller.aio.stats(call))["rx_packets"]
    assert after - before > 20, (before, after)
    stats = await caller.aio.stats(call)
    assert stats["remote_rtp"].startswith(f"{far_end}:"), stats
    assert not caller.events("call_state", call=call, state="DISCONNECTED")


async def connect_to_board_and_hang_up(
    switch: Softswitch, gateway: SippRun, board_trunk: str, phone_agent_factory: Any
) -> None:
    """A queued caller connected by the operator to 5553001 behind the board `gateway`,
    talking to it, then hanging up; the gateway's scenario must end well. Stops the gateway."""
    try:
        await network(switch, board=[board_trunk])
        caller, call, operator, at_operator, entry = await caller_with_operator(
            switch, phone_agent_factory
        )
        assert switch.switchboard is not None
        await connect(switch, entry, "5553001")
        await connected_and_talking(caller, call, operator, at_operator, entry, BOARD_HOST)

        await caller.aio.hangup(call)
        await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        status, report = await gateway.finish(timeout=10)
        assert status == 0, report
    finally:
        await gateway.stop()


async def test_connect_to_a_manual_line_calls_its_board_trunk_with_the_jack_label(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    gateway, board_trunk = await start_gateway(sipp, tmp_path, "board", BOARD_HOST)
    await connect_to_board_and_hang_up(switch, gateway, board_trunk, phone_agent_factory)

    (invite,) = received(gateway, "INVITE")
    assert invite.startswith(f"INVITE {board_trunk.replace('sip:', 'sip:5553001@')} SIP/2.0")
    assert headers(invite, "X-Jack-Label") == ["J-1"]
    assert headers(invite, "Content-Length") == ["0"]  # no offer: the gateway makes it
    (ack,) = received(gateway, "ACK")
    assert "m=audio" in ack  # the caller's answer to the gateway's offer
    (bye,) = received(gateway, "BYE")
    assert bye

    await switch.store.flush()
    (record,) = await switch.store.list_cdrs(line="5553001")
    assert record.disposition == "connected by operator"
    assert record.note == "connected to 5553001" and record.ended_by == "caller"


async def test_an_answer_to_the_connect_whose_to_cannot_be_read_is_dropped(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The board gateway first answers with a 200 OK whose To is broken: the connect leg drops
    it (nothing logged as an error, the socket stays open) and connects on the next 200."""
    gateway, board_trunk = await start_gateway(
        sipp, tmp_path, "board", BOARD_HOST, "uas_unreadable_then_answer.xml"
    )
    await connect_to_board_and_hang_up(switch, gateway, board_trunk, phone_agent_factory)
    (ack,) = received(gateway, "ACK")
    assert "m=audio" in ack


async def test_connect_to_another_exchanges_line_goes_over_its_trunk_past_an_unavailable_one(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The operator gives the old tie-line number 82001: the dialplan rewrites it to Birchwood's
    5552001, whose first trunk answers 503; the second one takes the call."""
    unavailable, first = await start_gateway(
        sipp, tmp_path, "unavailable", PEER_HOST, "uas_unavailable.xml"
    )
    peer, second = await start_gateway(sipp, tmp_path, "peer", PEER_HOST)
    try:
        await network(switch, peer=[first, second])
        caller, call, operator, at_operator, entry = await caller_with_operator(
            switch, phone_agent_factory
        )
        assert switch.switchboard is not None
        await connect(switch, entry, "82001")
        await connected_and_talking(caller, call, operator, at_operator, entry, PEER_HOST)

        await caller.aio.hangup(call)
        await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        for run in (unavailable, peer):
            status, report = await run.finish(timeout=10)
            assert status == 0, report
    finally:
        await unavailable.stop()
        await peer.stop()

    (refused,) = received(unavailable, "INVITE")
    (invite,) = received(peer, "INVITE")
    assert refused.startswith(f"INVITE {first.replace('sip:', 'sip:5552001@')} SIP/2.0")
    assert invite.startswith(f"INVITE {second.replace('sip:', 'sip:5552001@')} SIP/2.0")
    assert headers(invite, "X-Jack-Label") == []  # an automated exchange has no jacks
    await switch.store.flush()
    (record,) = await switch.store.list_cdrs(line="5553001")
    assert record.disposition == "connected by operator" and record.note == "connected to 5552001"


async def test_the_operators_transfer_key_connects_over_a_trunk(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    peer, trunk = await start_gateway(sipp, tmp_path, "peer", PEER_HOST)
    try:
        await network(switch, peer=[trunk])
        caller, call, operator, at_operator, entry = await caller_with_operator(
            switch, phone_agent_factory
        )
        assert switch.queue_service is not None
        queued = switch.queue_service.find(entry.call_id)
        assert queued is not None
        await operator.aio.transfer(at_operator["call"], dial(switch, "5552001"))
        await connected_and_talking(caller, call, operator, at_operator, entry, PEER_HOST)
        # the queue's record follows, as for a connect from the console
        row = await switch.store.get_queue_call(queued.id)
        assert row is not None
        assert (row.state, row.connect_to) == ("connected", "5552001")
        notifies = operator.sip_messages("rx", method="NOTIFY")
        assert any("SIP/2.0 200 OK" in n["msg"] for n in notifies)  # the transfer's outcome

        await caller.aio.hangup(call)
        status, report = await peer.finish(timeout=10)
        assert status == 0, report
    finally:
        await peer.stop()
    (invite,) = received(peer, "INVITE")
    assert invite.startswith(f"INVITE {trunk.replace('sip:', 'sip:5552001@')} SIP/2.0")


async def connect_past_a_slow_trunk(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any, scenario: str
) -> tuple[SippRun, str]:
    """Birchwood's first trunk plays `scenario` (silent for 0.8 s, then late); with a trunk
    try timer of 0.3 s the connect goes on to the second trunk at once, not after the INVITE's
    32 s, and the call is talking there, not with the late one. Both scenarios must end
    well. Returns the late trunk's run and URI."""
    late, first = await start_gateway(sipp, tmp_path, "late", PEER_HOST, scenario)
    peer, second = await start_gateway(sipp, tmp_path, "peer", PEER_HOST)
    try:
        await network(switch, peer=[first, second])
        assert switch.calls is not None and switch.switchboard is not None
        switch.calls.trunk_timeout = 0.3
        caller, call, operator, at_operator, entry = await caller_with_operator(
            switch, phone_agent_factory
        )
        await connect(switch, entry, "82001")
        await connected_and_talking(caller, call, operator, at_operator, entry, PEER_HOST)
        status, report = await late.finish(timeout=10)
        assert status == 0, report
        assert entry.state == "connected"
        assert (await caller.aio.stats(call))["remote_rtp"].startswith(f"{PEER_HOST}:")

        await caller.aio.hangup(call)
        status, report = await peer.finish(timeout=10)
        assert status == 0, report
    finally:
        await late.stop()
        await peer.stop()
    (invite,) = received(peer, "INVITE")
    assert invite.startswith(f"INVITE {second.replace('sip:', 'sip:5552001@')} SIP/2.0")
    return late, first


async def test_a_connect_passes_over_a_silent_trunk_and_cancels_it_when_it_rings_late(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The late trunk rings after 0.8 s: it gets a CANCEL (its scenario expects it)."""
    late, first = await connect_past_a_slow_trunk(
        switch, sipp, tmp_path, phone_agent_factory, "uas_late_ring.xml"
    )
    (cancel,) = received(late, "CANCEL")
    assert cancel.startswith(f"CANCEL {first.replace('sip:', 'sip:5552001@')} SIP/2.0")


async def test_a_trunk_that_answers_after_the_connect_went_on_is_hung_up(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The late trunk answers after 0.8 s, with an offer: it gets its ACK, with an answer
    that refuses the stream (port zero), and a BYE."""
    late, _ = await connect_past_a_slow_trunk(
        switch, sipp, tmp_path, phone_agent_factory, "uas_late_answer.xml"
    )
    (ack,) = received(late, "ACK")
    assert "\nm=audio 0 RTP/AVP 8" in ack
    (bye,) = received(late, "BYE")
    assert bye


async def test_a_connect_to_a_trunk_that_never_answers_is_back_with_the_operator_in_time(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as black_hole:
        black_hole.bind((PEER_HOST, 0))  # takes the INVITE, never answers
        await network(switch, peer=[f"sip:{PEER_HOST}:{black_hole.getsockname()[1]}"])
        assert switch.calls is not None and switch.switchboard is not None
        switch.calls.trunk_timeout = 0.3
        caller, call, operator, at_operator, entry = await caller_with_operator(
            switch, phone_agent_factory
        )
        await connect(switch, entry, "5552001")
        await wait_until(lambda: entry.state == "connecting")
        await wait_until(lambda: entry.state == "with operator", timeout=3)
        assert black_hole.recv(65535).startswith(b"INVITE sip:5552001@")
    # still talking with the operator, who can try again
    before = (await operator.aio.stats(at_operator["call"]))["rx_packets"]
    await asyncio.sleep(0.6)
    assert (await operator.aio.stats(at_operator["call"]))["rx_packets"] > before + 10
    assert not caller.events("call_state", call=call, state="DISCONNECTED")


@contextlib.asynccontextmanager
async def signed_in(switch: Softswitch, login: str) -> AsyncIterator[aiohttp.ClientSession]:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for a bare IP address
    url = f"http://127.0.0.1:{switch.http_port}"
    async with aiohttp.ClientSession(url, cookie_jar=jar) as http:
        async with http.post(
            "/api/login", json={"login": login, "password": OPERATOR_PASSWORD}, headers=CSRF
        ) as response:
            assert response.status == 200, await response.text()
        yield http


async def post(http: aiohttp.ClientSession, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.post(path, json=body, headers=CSRF) as response:
        return response.status, await response.json()


async def test_a_manual_exchange_without_a_board_trunk_is_a_clear_error_on_the_console(
    switch: Softswitch, phone_agent_factory: Any
) -> None:
    await network(switch)
    await add_operator(switch.store, "ada", "5551002", OPERATOR_PASSWORD, ("CED",), "Ada")
    caller = await registered(phone_agent_factory, switch, "caller", "5551001", "one-secret")
    operator = await registered(phone_agent_factory, switch, "operator", "5551002", "two-secret")
    await operator.aio.set_auto_answer("operator", "answer")
    assert switch.queue_service is not None
    queue = switch.queue_service

    async with signed_in(switch, "ada") as http:
        call = await caller.aio.call("caller", dial(switch, "5553001"))
        queued = await caller.aio.wait_event("call_state", call=call, code=182, timeout=5)
        await wait_until(lambda: queue.find(queued["sip_call_id"]) is not None)
        entry = queue.find(queued["sip_call_id"])
        assert entry is not None
        status, body = await post(http, f"/api/calls/{entry.id}/take")
        assert status == 200, body
        at_operator = await operator.aio.wait_event("incoming_call", timeout=5)
        await caller.aio.wait_call_state(call, "CONFIRMED", timeout=5)
        await wait_until(lambda: queue.get(entry.id).state.value == "with_operator")  # type: ignore[union-attr]

        status, body = await post(http, f"/api/calls/{entry.id}/connect", {"number": "5553001"})
        assert status == 502
        assert body["error"] == "could not connect to 5553001: Cedar Falls has no board trunk"
        # the caller stays with the operator, who can try another number or hang up
        await wait_until(lambda: queue.get(entry.id).state.value == "with_operator")  # type: ignore[union-attr]
        assert not caller.events("call_state", call=call, state="DISCONNECTED")
        status, body = await post(http, f"/api/calls/{entry.id}/hangup")
        assert status == 200, body
    await caller.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
    await operator.aio.wait_event(
        "call_state", call=at_operator["call"], state="DISCONNECTED", timeout=5
    )
