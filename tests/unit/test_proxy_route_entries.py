"""Taking the node's own entries off a request's Route set (§16.4): read from their text, and
kept as known once found to name the node, since the same few come back in every dialog."""

from __future__ import annotations

import pytest

from bench.hotpath import CALLER, in_dialog
from softswitch.proxy import LocalAddress
from softswitch.sip import ParseError, Response
from softswitch.transport import Peer

from .proxy_node import PEER, PEER_ROUTE, ProxyNode


def test_a_route_value_names_the_node_by_host_and_port() -> None:
    local = LocalAddress("127.0.0.1", 5070, aliases=("switch.example",))
    assert local.names_us("<sip:127.0.0.1:5070;transport=udp;lr>")
    assert local.names_us("<sip:SWITCH.example:5070;lr>")
    assert local.names_us("Switch <sip:127.0.0.1:5070;lr;ftag=abc>")
    assert not local.names_us("<sip:127.0.0.1:5071;lr>")
    assert not local.names_us("<sip:192.0.2.9:5070;lr>")
    assert not local.names_us("<tel:+15551234>")
    with pytest.raises(ParseError):
        local.names_us("<sip:127.0.0.1:5070;lr")
    # asked again, the answers are the same (the node's own are then known by their text)
    assert local.names_us("<sip:127.0.0.1:5070;transport=udp;lr>")
    assert not local.names_us("<sip:192.0.2.9:5070;lr>")


def test_the_route_values_known_as_ours_are_bounded() -> None:
    local = LocalAddress("127.0.0.1", 5070)
    values = [f"<sip:127.0.0.1:5070;lr;n={n}>" for n in range(500)]
    assert all(local.names_us(value) for value in values)
    assert all(local.names_us(value) for value in values)
    assert len(local._our_routes) <= 64


async def test_a_bye_goes_to_the_route_after_ours_with_ours_taken_off(
    routed_node: tuple[ProxyNode, str],
) -> None:
    switch, ours = routed_node
    port = switch.proxy.local.port
    tcp_ours = ours.replace("transport=udp", "transport=tcp")
    routes = f"{ours}, {tcp_ours}, {PEER_ROUTE}"
    for n in range(2):  # the second time the entries are known by their text
        switch.sent.clear()
        switch.feed(in_dialog("BYE", 2 + n, 1, routes, str(7 + n), port), CALLER)
        (bye,) = switch.requests_to(PEER, "BYE")
        assert bye.header_values("route") == [PEER_ROUTE]
        assert bye.uri == "sip:5552999@127.0.0.1:5080;transport=UDP"


async def test_after_a_strict_router_the_last_route_is_the_request_uri(
    routed_node: tuple[ProxyNode, str],
) -> None:
    """§16.4: a Request-URI the node put in a Record-Route means the previous hop was a strict
    router; the real Request-URI is the last Route entry."""
    switch, _ = routed_node
    port = switch.proxy.local.port
    callee = Peer("udp", "127.0.0.1", 5080)
    bye = in_dialog("BYE", 2, 1, "<sip:5552999@127.0.0.1:5080>", "7", port).replace(
        b"BYE sip:5552999@127.0.0.1:5080;transport=UDP", f"BYE sip:127.0.0.1:{port};lr".encode()
    )
    switch.feed(bye, CALLER)
    (forwarded,) = switch.requests_to(callee, "BYE")
    assert forwarded.uri == "sip:5552999@127.0.0.1:5080"
    assert forwarded.header_values("route") == []


@pytest.mark.parametrize("routes", ["<sip:127.0.0.1:{port};lr", "{ours}, <sip:192.0.2.9;lr"])
async def test_a_malformed_route_entry_is_answered_400(
    routed_node: tuple[ProxyNode, str], routes: str
) -> None:
    switch, ours = routed_node
    port = switch.proxy.local.port
    switch.feed(in_dialog("BYE", 2, 1, routes.format(port=port, ours=ours), "7", port), CALLER)
    (answer,) = switch.sent_to(CALLER)
    assert isinstance(answer, Response) and answer.status == 400
    assert [to for to, _ in switch.sent] == [CALLER]
