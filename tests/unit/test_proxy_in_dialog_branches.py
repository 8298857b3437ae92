"""The loop hash (§16.6 step 8, §16.3 step 4) goes on the branches of requests outside a
dialog only. In a dialog the Route set decides the path: a request whose Route set passes
through the node twice is a spiral and is forwarded both times, not answered 482."""

from __future__ import annotations

from bench.hotpath import CALLEE, CALLER, in_dialog, invite
from softswitch.sip import Request, Response, Via

from .proxy_node import PEER, PEER_ROUTE, ProxyNode


async def test_an_invites_branch_carries_the_loop_hash_and_a_byes_does_not(
    routed_node: tuple[ProxyNode, str],
) -> None:
    switch, ours = routed_node
    port = switch.proxy.local.port
    switch.feed(invite(1, port), CALLER)
    (forwarded,) = switch.requests_to(CALLEE, "INVITE")
    assert forwarded.top_via.branch is not None
    assert forwarded.top_via.branch.count(".") == 1  # z9hG4bK<random>.<loop hash>
    switch.feed(in_dialog("BYE", 2, 1, ours, "7", port), CALLER)
    (bye,) = switch.requests_to(CALLEE, "BYE")
    assert bye.top_via.branch is not None and "." not in bye.top_via.branch


async def test_a_request_in_a_dialog_routed_through_the_node_twice_is_forwarded_both_times(
    routed_node: tuple[ProxyNode, str],
) -> None:
    switch, ours = routed_node
    port = switch.proxy.local.port
    switch.feed(in_dialog("BYE", 2, 1, f"{ours}, {PEER_ROUTE}, {ours}", "7", port), CALLER)
    (first,) = switch.requests_to(PEER, "BYE")
    assert first.header_values("route") == [PEER_ROUTE, ours]
    assert first.max_forwards == 69

    # the other proxy takes its own Route entry off and sends the BYE back (§16.6)
    back = Request(first.method, first.uri, first.copy_fields(), first.body)
    back.pop_first_value("route")
    back.set_header("Max-Forwards", "68")
    back.push_via(Via("UDP", PEER.host, PEER.port, {"branch": "z9hG4bK-peer-1"}))
    switch.sent.clear()
    switch.feed(back.to_bytes(), PEER)

    assert not [m for m in switch.sent_to(PEER) if isinstance(m, Response)]  # no 482
    (second,) = switch.requests_to(CALLEE, "BYE")
    assert second.header_values("route") == []
    assert [via.port for via in second.vias] == [port, PEER.port, port, CALLER.port]
    assert second.max_forwards == 67
