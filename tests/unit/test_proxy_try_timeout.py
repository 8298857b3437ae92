"""A trunk's try timeout: a target that answers nothing in time is given up (the next one is
tried); one that answers, or whose transaction ends without an answer, has its timeout
cancelled then, so no loop timer holds the call for the rest of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bench.hotpath import CALLEE, CALLER, OneTrunk, answer, invite
from softswitch.proxy.context import Branch, Target
from softswitch.proxy.core import Admission, Routing
from softswitch.sip import Request, Response
from softswitch.transaction import ClientTransaction
from softswitch.transport import Peer

from .proxy_node import ProxyNode

TRY_TIMEOUT = 0.3


class TimedTrunk(OneTrunk):
    def locate(self, request: Request, admission: Admission, now: float) -> Routing:
        routing = super().locate(request, admission, now)
        (target,) = routing.targets
        timed = Target(target.uri, target.peer, try_timeout=TRY_TIMEOUT)
        return Routing([timed], dialed=routing.dialed, number=routing.number)


def final_statuses(node: ProxyNode, peer: Peer) -> list[int]:
    return [m.status for m in node.sent_to(peer) if isinstance(m, Response) and m.status >= 200]


@pytest.fixture
async def node() -> AsyncIterator[ProxyNode]:
    node = ProxyNode(TimedTrunk())
    await node.start()
    yield node
    await node.endpoint.close()


def call(node: ProxyNode, n: int) -> tuple[ClientTransaction, Branch, asyncio.TimerHandle]:
    """The caller's INVITE n, forwarded to the trunk: its one branch, with its try timer armed."""
    node.feed(invite(n, node.proxy.local.port), CALLER)
    ((tx, entry),) = node.proxy._branches.items()
    assert entry is not None  # a branch, not a CANCEL of ours
    _, branch = entry
    timer = branch.try_timer
    assert timer is not None and not timer.cancelled()
    return tx, branch, timer


async def test_a_trunk_that_answers_has_its_try_timeout_cancelled(node: ProxyNode) -> None:
    _, branch, timer = call(node, 1)
    (forwarded,) = node.requests_to(CALLEE, "INVITE")
    node.feed(answer(forwarded.to_bytes(), 180, "callee"), CALLEE)
    assert timer.cancelled() and branch.try_timer is None
    await asyncio.sleep(TRY_TIMEOUT * 1.5)
    assert final_statuses(node, CALLER) == []  # still ringing: not given up


async def test_a_trunk_that_answers_nothing_is_given_up_after_its_try_timeout(
    node: ProxyNode,
) -> None:
    call(node, 2)
    await asyncio.sleep(TRY_TIMEOUT * 0.5)
    assert final_statuses(node, CALLER) == []
    await asyncio.sleep(TRY_TIMEOUT)
    assert final_statuses(node, CALLER) == [408]


async def test_a_trunk_the_transport_fails_to_reach_has_its_try_timeout_cancelled(
    node: ProxyNode,
) -> None:
    tx, branch, timer = call(node, 3)
    # what the endpoint does when a send of the transaction fails (a refused connection)
    now = asyncio.get_running_loop().time()
    node.endpoint._dispatch(node.endpoint.table.transport_error(tx, now))
    assert timer.cancelled() and branch.try_timer is None
    # the branch's 503 is no answer to pass on (§16.7 step 6): the caller gets 500
    assert final_statuses(node, CALLER) == [500]


async def test_a_trunk_whose_send_fails_at_once_is_given_up_without_its_try_timeout(
    node: ProxyNode,
) -> None:
    kept = node.endpoint.transport.send

    def send(peer: Peer, data: bytes) -> None:
        if peer.port == CALLEE.port:
            raise OSError("no UDP listener")  # what the transport raises with none to send on
        kept(peer, data)

    node.endpoint.transport.send = send  # type: ignore[method-assign]
    _, branch, timer = call(node, 4)
    await asyncio.sleep(TRY_TIMEOUT * 0.2)  # the failure is reported on the next turn
    assert timer.cancelled() and branch.try_timer is None
    assert final_statuses(node, CALLER) == [500]


async def test_a_trunk_whose_transaction_times_out_has_its_try_timeout_cancelled(
    node: ProxyNode,
) -> None:
    _, branch, timer = call(node, 5)
    # timer B (64*T1) fires, as the endpoint's timer would run it
    later = asyncio.get_running_loop().time() + 64 * node.endpoint.table.timers.t1 + 1
    node.endpoint._dispatch(node.endpoint.table.handle_timers(later))
    assert timer.cancelled() and branch.try_timer is None
    assert final_statuses(node, CALLER) == [408]
