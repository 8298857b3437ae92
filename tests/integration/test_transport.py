"""Transports: IPv6 next to IPv4, TCP idle timeouts, responses back where requests came from."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from softswitch.server import Softswitch
from softswitch.sip import Response, parse_message

from .conftest import provision, switch_settings

pytestmark = pytest.mark.integration


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
async def dual_stack(fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Softswitch]:
    if not ipv6_available():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    settings = switch_settings(tmp_path, sip_host="127.0.0.1,::1", tcp_idle_timeout=1)
    node = await Softswitch.open(settings, fresh_database_url)
    await provision(node.store, ("5551001", "one-secret"))
    await node.start()
    try:
        yield node
    finally:
        await node.stop()


def options(via_host: str, port: int, transport: str = "UDP", rport: bool = True) -> bytes:
    return (
        "OPTIONS sip:[::1] SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via_host}:{port}{';rport' if rport else ''}"
        f";branch=z9hG4bK-v6-{time.monotonic_ns()}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:probe@[::1]>;tag=v6\r\nTo: <sip:5551001@[::1]>\r\n"
        f"Call-ID: v6-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_ipv6_and_ipv4_listen_on_the_same_port(dual_stack: Softswitch) -> None:
    assert [(listening.host, listening.port) for listening in dual_stack.listening] == [
        ("127.0.0.1", dual_stack.sip_port),
        ("::1", dual_stack.listening[1].port),
    ]
    port6 = dual_stack.listening[1].port

    def exchange() -> Response:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.bind(("::1", 0))
            sock.settimeout(3)
            # a wrong sent-by: the answer must still come back to the source (rport, received)
            sock.sendto(options("[2001:db8::99]", 5070), ("::1", port6))
            reply = parse_message(sock.recv(65535))
            assert isinstance(reply, Response)
            return reply

    reply = await asyncio.to_thread(exchange)
    assert reply.status == 200
    via = reply.top_via
    assert via.host == "[2001:db8::99]"
    assert via.received == "::1"
    assert via.rport is not None and via.rport > 0


async def test_idle_tcp_connections_are_closed(dual_stack: Softswitch) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", dual_stack.sip_port)
    try:
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""
        assert time.monotonic() - started >= 0.9
    finally:
        writer.close()


async def test_tcp_response_comes_back_on_the_same_connection(dual_stack: Softswitch) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", dual_stack.sip_port)
    try:
        # sent-by names a port nobody listens on: only the connection can carry the answer
        writer.write(options("127.0.0.1", 9, "TCP", rport=False))
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=3)
        assert head.startswith(b"SIP/2.0 200 OK")
    finally:
        writer.close()
