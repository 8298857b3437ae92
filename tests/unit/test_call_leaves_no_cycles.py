"""What a call leaves behind is freed by reference counting alone. The serving process freezes
the objects that survive each 20 ms collection and collects everything only when the node is
quiet (`softswitch/collector.py`), so a call whose objects formed a reference cycle would stay
in memory until then: under steady load, for up to a day."""

from __future__ import annotations

import asyncio
import gc

import pytest

from bench.hotpath import CALLEE, CALLER, SDP, OneTrunk, answer, in_dialog, invite
from softswitch.proxy.context import Target
from softswitch.proxy.core import Admission, Routing
from softswitch.sip import Request, Response, parse_message

from .proxy_node import ProxyNode

CALLS = 20


class TrunkWithTimeout(OneTrunk):
    """A trunk with a try timeout, as the dialplan's trunks have: a loop timer per branch."""

    def locate(self, request: Request, admission: Admission, now: float) -> Routing:
        routing = super().locate(request, admission, now)
        (target,) = routing.targets
        timed = Target(target.uri, target.peer, try_timeout=10.0)
        return Routing([timed], dialed=routing.dialed, number=routing.number)


def call(node: ProxyNode, n: int, port: int) -> None:
    """One call through the proxy: INVITE, 180, 200, ACK, BYE, 200."""
    node.feed(invite(n, port), CALLER)
    (forwarded,) = node.requests_to(CALLEE, "INVITE")
    node.feed(answer(forwarded.to_bytes(), 180, f"{n}callee"), CALLEE)
    node.feed(answer(forwarded.to_bytes(), 200, f"{n}callee", SDP), CALLEE)
    ok = [m for m in node.sent_to(CALLER) if isinstance(m, Response) and m.status == 200]
    route = ok[0].header_values("record-route")[0]
    node.feed(in_dialog("ACK", 1, n, route, "5", port), CALLER)
    node.feed(in_dialog("BYE", 2, n, route, "7", port), CALLER)
    (bye,) = node.requests_to(CALLEE, "BYE")
    node.feed(answer(bye.to_bytes(), 200, f"{n}callee"), CALLEE)
    assert parse_message(node.sent[-1][1]).status == 200  # type: ignore[union-attr]
    node.sent.clear()


@pytest.mark.usefixtures("no_automatic_collection")
async def test_calls_through_the_proxy_leave_nothing_for_the_cycle_collector() -> None:
    node = ProxyNode(TrunkWithTimeout())
    port = await node.start()
    try:
        for n in range(CALLS):
            call(node, n, port)
        # every transaction waits out its timers (64*T1 at most), then ends
        later = asyncio.get_running_loop().time() + 3600
        node.endpoint._dispatch(node.endpoint.table.handle_timers(later))
        assert len(node.endpoint.table) == 0
        assert not node.proxy._contexts and not node.proxy._branches
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collection finds is kept to be looked at
        gc.collect()
        ours = [o for o in gc.garbage if type(o).__module__.startswith("softswitch")]
        assert ours == []
    finally:
        await node.endpoint.close()
