"""What a call leaves behind for the 32 s its transactions wait out their last timers: the
messages packed, the bytes nobody will send again dropped, and nothing unpacked again by the
proxy on the call's way (a packed message is read again only when something asks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.hotpath import CALLEE, CALLER, answer, in_dialog, invite
from softswitch.sip import Response
from softswitch.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
)

from .proxy_node import ProxyNode

SDP = b"v=0\r\n"


class PackedWhenAnswered:
    """Notes, when the proxy reports the call answered (after the 2xx went upstream), whether
    the INVITE is still as the server transaction packed it: read again, it would not be."""

    def __init__(self, node: ProxyNode) -> None:
        self.node = node
        self.packed: list[bool] = []

    def call_started(self, *args: object) -> None:
        pass

    def call_failed(self, *args: object) -> None:
        pass

    def call_ended(self, *args: object) -> None:
        pass

    def call_answered(self, call_id: str, now: float) -> None:
        invites = [
            tx
            for tx in self.node.endpoint.table._servers.values()
            if isinstance(tx, ServerInviteTransaction)
        ]
        self.packed += [tx.request._field_list is None for tx in invites]


@pytest.fixture
async def node() -> AsyncIterator[ProxyNode]:
    node = ProxyNode()
    await node.start()
    yield node
    await node.endpoint.close()


async def test_a_finished_call_leaves_its_transactions_packed(node: ProxyNode) -> None:
    port = node.proxy.local.port
    node.proxy.observer = observer = PackedWhenAnswered(node)
    node.feed(invite(1, port), CALLER)
    forwarded = next(data for peer, data in node.sent if peer.port == CALLEE.port)
    node.feed(answer(forwarded, 180, "1callee"), CALLEE)
    node.feed(answer(forwarded, 200, "1callee", SDP), CALLEE)
    (ok,) = [m for m in node.sent_to(CALLER) if isinstance(m, Response) and m.status == 200]
    assert observer.packed == [True]  # the proxy read what it needed before the 2xx went
    route = ok.header_values("record-route")[0]
    node.feed(in_dialog("ACK", 1, 1, route, "5", port), CALLER)
    node.sent.clear()
    node.feed(in_dialog("BYE", 2, 1, route, "7", port), CALLER)
    bye = next(data for peer, data in node.sent if peer.port == CALLEE.port)
    node.feed(answer(bye, 200, "1callee"), CALLEE)

    table = node.endpoint.table
    waiting = [*table._servers.values(), *table._clients.values()]
    assert sorted(type(tx).__name__ for tx in waiting) == sorted(
        cls.__name__
        for cls in (
            ServerInviteTransaction,
            ClientInviteTransaction,
            ServerNonInviteTransaction,
            ClientNonInviteTransaction,
        )
    )
    for tx in waiting:
        assert tx.request._field_list is None, f"{tx!r} holds its request unpacked"
        # only the BYE's server transaction sends again: its 200, to a retransmitted BYE
        assert bool(tx.data) == isinstance(tx, ServerNonInviteTransaction), repr(tx)
    finals = [b.final for c in node.proxy._contexts.values() for b in c.branches]
    assert finals and all(f is not None and f._field_list is None for f in finals)
    # the BYE's context went with its 200: its transactions answer what comes again
    assert [c.request.method for c in node.proxy._contexts.values()] == ["INVITE"]
    assert all(isinstance(tx, ClientInviteTransaction) for tx in node.proxy._branches)


async def test_a_bye_is_answered_again_after_its_context_is_gone(node: ProxyNode) -> None:
    port = node.proxy.local.port
    node.feed(invite(1, port), CALLER)
    forwarded = next(data for peer, data in node.sent if peer.port == CALLEE.port)
    node.feed(answer(forwarded, 200, "1callee", SDP), CALLEE)
    (ok,) = [m for m in node.sent_to(CALLER) if isinstance(m, Response) and m.status == 200]
    route = ok.header_values("record-route")[0]
    node.feed(in_dialog("ACK", 1, 1, route, "5", port), CALLER)
    bye_request = in_dialog("BYE", 2, 1, route, "7", port)
    node.feed(bye_request, CALLER)
    bye = next(data for peer, data in node.sent if data.startswith(b"BYE"))
    node.feed(answer(bye, 200, "1callee"), CALLEE)
    assert not any(c.request.method == "BYE" for c in node.proxy._contexts.values())
    node.sent.clear()

    node.feed(answer(bye, 200, "1callee"), CALLEE)  # the callee's 200 again: absorbed
    assert node.sent == []
    node.feed(bye_request, CALLER)  # the caller's BYE again: its 200 again, from the transaction
    (again,) = node.sent_to(CALLER)
    assert isinstance(again, Response) and again.status == 200 and again.cseq.method == "BYE"
