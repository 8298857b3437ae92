"""Timer C (§16.8): a call that keeps ringing is not cancelled while provisional responses
keep coming; one that goes quiet is cancelled timer C after its last one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.hotpath import CALLEE, CALLER, HOST, OneTrunk, answer, invite
from softswitch.proxy import LocalAddress, ProxyCore
from softswitch.sip import Request, parse_message
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

TIMER_C = 0.4


class Node:
    def __init__(self) -> None:
        self.sent: list[tuple[Peer, bytes]] = []
        self.endpoint = SipEndpoint(
            lambda request, peer, tx: self.proxy.handle_request(request, peer, tx),
            on_event=lambda output: self.proxy.handle_event(output),
        )

    async def start(self) -> int:
        port = await self.endpoint.listen(HOST, 0)
        self.proxy = ProxyCore(self.endpoint, LocalAddress(HOST, port), OneTrunk(), timer_c=TIMER_C)
        self.endpoint.transport.send = lambda peer, data: self.sent.append((peer, data))  # type: ignore[method-assign]
        return port

    def requests_to_callee(self, method: str) -> list[Request]:
        messages = [(peer, parse_message(data)) for peer, data in self.sent]
        return [
            message
            for peer, message in messages
            if peer.port == CALLEE.port
            and isinstance(message, Request)
            and message.method == method
        ]


@pytest.fixture
async def node() -> AsyncIterator[tuple[Node, bytes]]:
    node = Node()
    port = await node.start()
    node.endpoint._received(invite(1, port), CALLER)
    (forwarded,) = node.requests_to_callee("INVITE")
    yield node, answer(forwarded.to_bytes(), 180, "callee")
    await node.endpoint.close()


async def test_ringing_that_goes_on_keeps_the_call_past_timer_c(node: tuple[Node, bytes]) -> None:
    switch, ringing = node
    for _ in range(4):  # a 180 every 0.6 timer C, for 2.4 timer C in all
        switch.endpoint._received(ringing, CALLEE)
        await asyncio.sleep(TIMER_C * 0.6)
    assert switch.requests_to_callee("CANCEL") == []
    await asyncio.sleep(TIMER_C * 0.6)  # timer C after the last 180: the call is given up
    (cancel,) = switch.requests_to_callee("CANCEL")
    assert cancel.call_id == "1-hotpath@127.0.0.1"


async def test_a_call_that_never_rings_is_cancelled_once_it_does(
    node: tuple[Node, bytes],
) -> None:
    switch, ringing = node
    await asyncio.sleep(TIMER_C * 1.3)
    assert switch.requests_to_callee("CANCEL") == []  # §9.1: nothing to cancel before a 1xx
    switch.endpoint._received(ringing, CALLEE)
    (cancel,) = switch.requests_to_callee("CANCEL")
    assert cancel.call_id == "1-hotpath@127.0.0.1"
