"""Under `serve --workers N`, a worker that routes a call to a phone whose TCP connection another
worker holds sends it on to that worker from its own port, over UDP, and the other takes it
without credentials (the first one checked them). Only that: a request from this machine from
any other port, or over TCP from that very port, is challenged like any caller's."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from softswitch.server import Softswitch
from softswitch.sip import Response, parse_message

from .conftest import provision, switch_settings

HOST = "127.0.0.1"


class Node:
    def __init__(self, switch: Softswitch, sibling_port: int) -> None:
        self.switch = switch
        self.sibling_port = sibling_port


@pytest.fixture
def sibling_port() -> Iterator[int]:
    """A UDP port no process of the test's server has; the server is told a sibling sends
    from it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    yield port


@pytest.fixture
async def node(fresh_database_url: str, tmp_path: Path, sibling_port: int) -> AsyncIterator[Node]:
    switch = await Softswitch.open(
        switch_settings(tmp_path), fresh_database_url, siblings=frozenset({sibling_port})
    )
    await provision(switch.store, ("5551001", "one-secret"), ("5551002", "two-secret"))
    await switch.start()
    try:
        yield Node(switch, sibling_port)
    finally:
        await switch.stop()


def invite(server_port: int, local_port: int, transport: str) -> bytes:
    """An INVITE for 5551002's contact, without credentials, as a sibling relays it."""
    stamp = time.monotonic_ns()
    return (
        f"INVITE sip:5551002@{HOST}:5099 SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {HOST}:{local_port};branch=z9hG4bK-sib-{stamp};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:5551001@{HOST}:{server_port}>;tag=sib\r\n"
        f"To: <sip:5551002@{HOST}:{server_port}>\r\n"
        f"Call-ID: sib-{stamp}@{HOST}\r\nCSeq: 1 INVITE\r\n"
        f"Contact: <sip:5551001@{HOST}:{local_port}>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def final_response(receive: Callable[[], bytes]) -> Response:
    """The first final response among the messages `receive()` returns one by one."""
    while True:
        response = parse_message(receive())
        assert isinstance(response, Response)
        if response.status >= 200:
            return response


def over_udp(server_port: int, local_port: int) -> Response:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, local_port))
        sock.settimeout(3)
        sock.sendto(invite(server_port, local_port, "UDP"), (HOST, server_port))
        return final_response(lambda: sock.recv(65535))


def over_tcp(server_port: int, local_port: int) -> Response:
    with socket.create_connection((HOST, server_port), 3, (HOST, local_port)) as sock:
        sock.sendall(invite(server_port, local_port, "TCP"))
        received = b""

        def next_message() -> bytes:
            nonlocal received
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65535)
                assert chunk, "the connection closed"
                received += chunk
            head, _, received = received.partition(b"\r\n\r\n")
            return head + b"\r\n\r\n"  # no body in these answers (Content-Length: 0)

        return final_response(next_message)


async def test_a_request_from_a_siblings_port_is_relayed_without_a_challenge(node: Node) -> None:
    response = await asyncio.to_thread(over_udp, node.switch.sip_port, node.sibling_port)
    # taken as the sibling's: on to the contact's connection, which this node does not hold
    assert (response.status, response.reason) == (480, "Not registered here")


async def test_a_request_from_another_port_of_this_machine_is_challenged(node: Node) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        other = probe.getsockname()[1]
    response = await asyncio.to_thread(over_udp, node.switch.sip_port, other)
    assert response.status == 407
    assert response.header("proxy-authenticate") is not None


async def test_a_request_over_tcp_from_a_siblings_port_is_challenged(node: Node) -> None:
    response = await asyncio.to_thread(over_tcp, node.switch.sip_port, node.sibling_port)
    assert response.status == 407
    assert response.header("proxy-authenticate") is not None
