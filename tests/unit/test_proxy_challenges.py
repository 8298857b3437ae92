"""§16.7 step 7: when a forked request's best answer is a 401 or 407, the caller gets the
challenges of every branch that asked for credentials, in one response."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.hotpath import CALLER, HOST, OneTrunk, invite
from softswitch.proxy import Target
from softswitch.proxy.core import Admission, Routing
from softswitch.sip import Request, Response, SipURI, make_response
from softswitch.transport import Peer

from .proxy_node import ProxyNode

EAST = Peer("udp", HOST, 5081)
WEST = Peer("udp", HOST, 5082)


class TwoExchanges(OneTrunk):
    """Every call forked to two peer exchanges at once."""

    def locate(self, request: Request, admission: Admission, now: float) -> Routing:
        number = request.request_uri.user if isinstance(request.request_uri, SipURI) else ""
        targets = [Target(f"sip:{number}@{p.host}:{p.port}", p) for p in (EAST, WEST)]
        return Routing(targets, dialed=number or "", number=number or "")


@pytest.fixture
async def node() -> AsyncIterator[ProxyNode]:
    node = ProxyNode(TwoExchanges())
    port = await node.start()
    node.feed(invite(1, port), CALLER)
    yield node
    await node.endpoint.close()


def answers(node: ProxyNode) -> list[Response]:
    return [m for m in node.sent_to(CALLER) if isinstance(m, Response)]


def challenge(node: ProxyNode, peer: Peer, status: int, header: str, realm: str) -> None:
    (request,) = node.requests_to(peer, "INVITE")
    value = f'Digest realm="{realm}", nonce="n-{realm}", algorithm=MD5, qop="auth"'
    answer = make_response(request, status, to_tag=realm, headers=[(header, value)])
    node.feed(answer.to_bytes(), peer)


async def test_the_caller_gets_every_branchs_challenge(node: ProxyNode) -> None:
    challenge(node, EAST, 407, "Proxy-Authenticate", "east.test")
    assert [a.status for a in answers(node)] == [100]  # the other branch is pending
    challenge(node, WEST, 401, "WWW-Authenticate", "west.test")
    final = answers(node)[-1]
    assert final.status in (401, 407)
    assert [v.split(",")[0] for v in final.header_values("proxy-authenticate")] == [
        'Digest realm="east.test"'
    ]
    assert [v.split(",")[0] for v in final.header_values("www-authenticate")] == [
        'Digest realm="west.test"'
    ]
    assert len(final.header_values("via")) == 1  # our Via is off


async def test_a_challenge_beside_another_failure_goes_up_alone(node: ProxyNode) -> None:
    (request,) = node.requests_to(EAST, "INVITE")
    node.feed(make_response(request, 486, to_tag="busy").to_bytes(), EAST)
    challenge(node, WEST, 407, "Proxy-Authenticate", "west.test")
    final = answers(node)[-1]
    assert final.status == 407  # preferred over 486 (§16.7 step 6)
    assert len(final.header_values("proxy-authenticate")) == 1
    assert final.header_values("www-authenticate") == []
