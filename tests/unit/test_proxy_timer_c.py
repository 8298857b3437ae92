"""Timer C (§16.8): a call that keeps ringing is not cancelled while provisional responses
keep coming; one that goes quiet is cancelled timer C after its last one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.hotpath import CALLEE, CALLER, answer, invite

from .proxy_node import ProxyNode

TIMER_C = 0.4


@pytest.fixture
async def node() -> AsyncIterator[tuple[ProxyNode, bytes]]:
    node = ProxyNode(timer_c=TIMER_C)
    port = await node.start()
    node.feed(invite(1, port), CALLER)
    (forwarded,) = node.requests_to(CALLEE, "INVITE")
    yield node, answer(forwarded.to_bytes(), 180, "callee")
    await node.endpoint.close()


async def test_ringing_that_goes_on_keeps_the_call_past_timer_c(
    node: tuple[ProxyNode, bytes],
) -> None:
    switch, ringing = node
    for _ in range(4):  # a 180 every 0.6 timer C, for 2.4 timer C in all
        switch.feed(ringing, CALLEE)
        await asyncio.sleep(TIMER_C * 0.6)
    assert switch.requests_to(CALLEE, "CANCEL") == []
    await asyncio.sleep(TIMER_C * 0.6)  # timer C after the last 180: the call is given up
    (cancel,) = switch.requests_to(CALLEE, "CANCEL")
    assert cancel.call_id == "1-hotpath@127.0.0.1"


async def test_a_call_that_never_rings_is_cancelled_once_it_does(
    node: tuple[ProxyNode, bytes],
) -> None:
    switch, ringing = node
    await asyncio.sleep(TIMER_C * 1.3)
    assert switch.requests_to(CALLEE, "CANCEL") == []  # §9.1: nothing to cancel before a 1xx
    switch.feed(ringing, CALLEE)
    (cancel,) = switch.requests_to(CALLEE, "CANCEL")
    assert cancel.call_id == "1-hotpath@127.0.0.1"
