"""Hostile and broken input: a clear answer where one can be given, nothing lost, and the next
phone still registers."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from softswitch.server import Softswitch
from tests.agents.phones import PhoneAgent

pytestmark = pytest.mark.integration


def register(cseq: int = 1, extra: str = "", body: str = "", length: int | None = None) -> bytes:
    length = len(body.encode()) if length is None else length
    return (
        "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5999;rport;branch=z9hG4bK-bad-{cseq}-{time.monotonic_ns()}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:5551001@127.0.0.1>;tag=bad\r\n"
        "To: <sip:5551001@127.0.0.1>\r\n"
        f"Call-ID: bad-input-{cseq}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        "Contact: <sip:5551001@127.0.0.1:5999>\r\n"
        f"{extra}"
        f"Content-Length: {length}\r\n\r\n{body}"
    ).encode()


NO_VIA = register().replace(b"Via: ", b"X-Not-Via: ")
MANY_HEADERS = register(extra="".join(f"X-Filler-{i}: {i}\r\n" for i in range(2000)))
BIG = register(extra=f"X-Big: {'a' * 60_000}\r\n")

# (name, bytes, expected status or None when the datagram must be dropped)
CASES = [
    ("garbage", b"\x00\xff\x13garbage\r\n\r\n", None),
    ("truncated", register()[:90], None),
    ("content-length-too-large", register(body="v=0\r\n", length=400), 400),
    ("two-thousand-headers", MANY_HEADERS, 400),
    ("no-via", NO_VIA, None),
    ("bad-cseq", register().replace(b"CSeq: 1 REGISTER", b"CSeq: one REGISTER"), 400),
    ("cseq-method-mismatch", register().replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), 400),
    ("bad-version", register().replace(b"SIP/2.0\r\n", b"SIP/7.0\r\n", 1), 505),
    ("60kb", BIG, 401),
]


def udp_exchange(port: int, data: bytes, wait: float = 0.4) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(wait)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            return sock.recv(70_000)
        except TimeoutError:
            return None


def status_of(reply: bytes | None) -> int | None:
    return None if reply is None else int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize(("name", "data", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_bad_datagram(
    switch: Softswitch,
    name: str,
    data: bytes,
    expected: int | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="softswitch")
    reply = await asyncio.to_thread(udp_exchange, switch.sip_port, data)
    assert status_of(reply) == expected, reply[:200] if reply else reply
    if expected == 400:
        assert reply is not None
        assert b"\r\nWarning: 399 " in reply or b"\r\nReason: " in reply
    if expected != 401:
        # one line in the log says what was wrong and who sent it
        lines = [r for r in caplog.records if "127.0.0.1" in r.getMessage()]
        assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    assert await switch.store.load_bindings(time.time()) == []


async def test_bad_stream_input_closes_only_that_connection(switch: Softswitch) -> None:
    loop_port = switch.sip_port
    reader, writer = await asyncio.open_connection("127.0.0.1", loop_port)
    good_reader, good_writer = await asyncio.open_connection("127.0.0.1", loop_port)
    try:
        # a message without Content-Length cannot be framed on a stream: the connection closes
        writer.write(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP x\r\n\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=3) == b""

        # the other connection carries on: a keepalive ping is answered (RFC 5626 §3.5.1)
        good_writer.write(b"\r\n\r\n")
        await good_writer.drain()
        assert await asyncio.wait_for(good_reader.readexactly(2), timeout=3) == b"\r\n"
        # and a request with a too-large Content-Length waits for its body, not the server
        options = (
            b"OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
            b"Via: SIP/2.0/TCP 127.0.0.1:5998;branch=z9hG4bK-tcp-ok\r\n"
            b"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
            b"Call-ID: tcp-ok\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        good_writer.write(options)
        await good_writer.drain()
        head = await asyncio.wait_for(good_reader.readuntil(b"\r\n\r\n"), timeout=3)
        assert head.startswith(b"SIP/2.0 200 OK\r\n")
        assert b"Allow: " in head
    finally:
        for w in (writer, good_writer):
            w.close()


async def test_crlf_keepalive_over_udp_is_ignored_quietly(
    switch: Softswitch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="softswitch")
    reply = await asyncio.to_thread(udp_exchange, switch.sip_port, b"\r\n\r\n")
    assert reply is None
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


async def test_registration_after_a_flood_of_bad_input(switch: Softswitch) -> None:
    def flood() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for i in range(300):
                _, data, _ = CASES[i % len(CASES)]
                sock.sendto(data, ("127.0.0.1", switch.sip_port))

    await asyncio.to_thread(flood)
    agent = await asyncio.to_thread(PhoneAgent.start, "after-flood")
    try:
        await agent.aio.add_account(
            "a",
            user="5551001",
            registrar=f"sip:127.0.0.1:{switch.sip_port}",
            password="one-secret",
        )
        await agent.aio.wait_event("reg_state", account="a", code=200)
        assert len(await switch.store.load_bindings(time.time(), line="5551001")) == 1
    finally:
        await asyncio.to_thread(agent.close)
