"""Calls through the softswitch to and from sipp, a SIP stack nobody here wrote.

sipp plays a peer exchange behind a trunk (on 127.0.0.3, so that only it is trusted by
address) and a desk phone that authenticates its INVITE with digest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from softswitch.server import Softswitch

from .calling import RecordingObserver, dial, free_udp_port, header, registered, start_sipp
from .conftest import two_line_switch

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_errors_logged")]

PEER_HOST = "127.0.0.3"  # the sipp exchange; phones and the softswitch are on 127.0.0.1


@pytest.fixture
async def switch(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    """sipp answers only MD5 challenges: the node offers MD5 first."""
    async with two_line_switch(
        fresh_database_url, tmp_path, digest_algorithms="MD5,SHA-256"
    ) as node:
        yield node


async def add_sipp_exchange(switch: Softswitch, port: int) -> None:
    await switch.store.add_exchange(
        "SIPP", "Sippton", "5553", trunk_uris=[f"sip:{PEER_HOST}:{port}"]
    )
    await switch.reload_network()


def uas_args(port: int, calls: int = 1) -> list[str]:
    return [
        "-i",
        PEER_HOST,
        "-p",
        str(port),
        "-mi",
        PEER_HOST,
        "-mp",
        str(free_udp_port(PEER_HOST)),
        "-m",
        str(calls),
        "-timeout",
        "15",
        "-timeout_error",
    ]


async def test_phone_calls_sipp_and_sipp_hangs_up_through_the_proxy(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    port = free_udp_port(PEER_HOST)
    await add_sipp_exchange(switch, port)
    uas = await start_sipp(sipp, tmp_path / "uas", "uas", "uas_record_route.xml", uas_args(port))
    try:
        alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
        call = await alice.aio.call("alice", dial(switch, "5553001"))
        await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
        # sipp's BYE comes to the phone through the softswitch, not around it
        await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=5)
        byes = alice.sip_messages(direction="rx", method="BYE")
        assert byes and byes[0]["remote"] == f"127.0.0.1:{switch.sip_port}"
        status, report = await uas.finish(timeout=10)
        assert status == 0, report
    finally:
        await uas.stop()
    answer = alice.sip_messages(direction="rx", status=200, cseq_method="INVITE")[0]
    assert header(answer, "Record-Route") == [f"<sip:127.0.0.1:{switch.sip_port};transport=udp;lr>"]


async def test_caller_gives_up_before_a_slow_peer_rings(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The proxy may send CANCEL only after a provisional response (RFC 3261 §9.1); the caller
    hears 487 at once, and the peer still gets its CANCEL when it finally rings."""
    port = free_udp_port(PEER_HOST)
    await add_sipp_exchange(switch, port)
    uas = await start_sipp(sipp, tmp_path / "uas", "uas", "uas_late_ring.xml", uas_args(port))
    try:
        alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
        call = await alice.aio.call("alice", dial(switch, "5553001"))
        await alice.aio.wait_event(
            "sip_msg", direction="rx", status=100, cseq_method="INVITE", timeout=3
        )
        await alice.aio.hangup(call)
        ended = await alice.aio.wait_call_state(call, "DISCONNECTED", timeout=3)
        assert ended["code"] == 487
        status, report = await uas.finish(timeout=10)
        assert status == 0, report
    finally:
        await uas.stop()
    assert not alice.sip_messages(direction="rx", status=180)


async def test_sipp_places_ten_authenticated_calls_to_a_sipp_exchange(
    switch: Softswitch, sipp: str, tmp_path: Path
) -> None:
    port = free_udp_port(PEER_HOST)
    await add_sipp_exchange(switch, port)
    calls = 10
    uas = await start_sipp(sipp, tmp_path / "uas", "uas", "uas_answer.xml", uas_args(port, calls))
    try:
        injection = tmp_path / "callers.csv"
        injection.write_text(
            "SEQUENTIAL\n5551001;[authentication username=5551001 password=one-secret]\n"
        )
        uac = await start_sipp(
            sipp,
            tmp_path / "uac",
            "uac",
            "uac_auth_call.xml",
            [
                f"127.0.0.1:{switch.sip_port}",
                "-inf",
                str(injection),
                "-s",
                "5553001",
                "-i",
                "127.0.0.1",
                "-p",
                "0",
                "-mp",
                str(free_udp_port()),
                "-m",
                str(calls),
                "-r",
                "20",
                "-l",
                "5",
                "-timeout",
                "15",
                "-timeout_error",
                "-trace_stat",
                "-stf",
                str(tmp_path / "uac" / "stat.csv"),
            ],
        )
        try:
            status, report = await uac.finish(timeout=20)
            assert status == 0, report
        finally:
            await uac.stop()
        status, report = await uas.finish(timeout=10)
        assert status == 0, report
    finally:
        await uas.stop()
    stats = (tmp_path / "uac" / "stat.csv").read_text().splitlines()
    header, last = stats[0].split(";"), stats[-1].split(";")
    row = dict(zip(header, last, strict=False))
    assert row["SuccessfulCall(C)"] == str(calls), row
    assert row["FailedCall(C)"] == "0", row


async def register_sipp(sipp: str, switch: Softswitch, workdir: Path, port: int) -> None:
    """Register line 5551002 from PEER_HOST:port, where a sipp UAS will then answer."""
    injection = workdir / "line.csv"
    workdir.mkdir(parents=True)
    injection.write_text(
        "SEQUENTIAL\n5551002;two-secret;300;[authentication username=5551002 password=two-secret]\n"
    )
    run = await start_sipp(
        sipp,
        workdir,
        "register",
        "register_auth.xml",
        [
            f"127.0.0.1:{switch.sip_port}",
            "-inf",
            str(injection),
            "-i",
            PEER_HOST,
            "-p",
            str(port),
            "-m",
            "1",
            "-timeout",
            "5",
            "-timeout_error",
        ],
    )
    status, report = await run.finish(timeout=8)
    assert status == 0, report


async def test_a_fork_whose_180_crosses_the_cancel_is_ended_quietly(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """Line 5551002 on two phones; one answers at once, the other is only trying, and its
    180 arrives after the other's 200 went to the caller (and after our CANCEL left)."""
    answering, crossing = free_udp_port(PEER_HOST), free_udp_port(PEER_HOST)
    await register_sipp(sipp, switch, tmp_path / "reg1", answering)
    await register_sipp(sipp, switch, tmp_path / "reg2", crossing)
    uas1 = await start_sipp(sipp, tmp_path / "uas1", "uas1", "uas_answer.xml", uas_args(answering))
    uas2 = await start_sipp(
        sipp, tmp_path / "uas2", "uas2", "uas_ring_crossing_cancel.xml", uas_args(crossing)
    )
    try:
        alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
        call = await alice.aio.call("alice", dial(switch, "5551002"))
        await alice.aio.wait_call_state(call, "CONFIRMED", timeout=5)
        status, report = await uas2.finish(timeout=5)
        assert status == 0, report
        await alice.aio.hangup(call)
        await alice.aio.wait_call_state(call, "DISCONNECTED")
        status, report = await uas1.finish(timeout=5)
        assert status == 0, report
    finally:
        await uas1.stop()
        await uas2.stop()
    # nothing provisional reached the caller after the answer
    responses = alice.sip_messages(direction="rx", cseq_method="INVITE")
    statuses = [m["status"] for m in responses if m["status"] != 407]
    assert statuses[-1] == 200 and 180 not in statuses[statuses.index(200) :]


async def test_a_re_invite_from_the_callee_does_not_change_who_hung_up(
    switch: Softswitch, sipp: str, tmp_path: Path, phone_agent_factory: Any
) -> None:
    """The callee's re-INVITE (hold, a session refresh) passes through the proxy along the route
    set; the call record still says the caller ended the call."""
    assert switch.proxy is not None
    observer = RecordingObserver()
    switch.proxy.observer = observer
    port = free_udp_port(PEER_HOST)
    await add_sipp_exchange(switch, port)
    uas = await start_sipp(sipp, tmp_path / "uas", "uas", "uas_reinvite.xml", uas_args(port))
    try:
        alice = await registered(phone_agent_factory, switch, "alice", "5551001", "one-secret")
        call = await alice.aio.call("alice", dial(switch, "5553001"))
        await alice.aio.wait_call_state(call, "CONFIRMED")
        reinvite = await alice.aio.wait_event("sip_msg", direction="rx", method="INVITE")
        assert reinvite["remote"] == f"127.0.0.1:{switch.sip_port}"
        await alice.aio.wait_event("sip_msg", direction="tx", status=200, cseq_method="INVITE")
        await asyncio.sleep(0.2)  # the ACK of the re-INVITE's 200
        await alice.aio.hangup(call)
        await alice.aio.wait_event("sip_msg", direction="rx", status=200, cseq_method="BYE")
        status, report = await uas.finish(timeout=5)
        assert status == 0, report
    finally:
        await uas.stop()
    sip_call_id = alice.events("call_state", call=call)[0]["sip_call_id"]
    assert observer.events(sip_call_id) == ["started", "answered", "ended by caller"]
