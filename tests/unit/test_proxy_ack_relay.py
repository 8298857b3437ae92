"""The ACK of a 2xx relayed from its bytes: for every ACK it takes, the proxy sends what the
full parse would have sent (the same lines, a new branch of ours on top); everything it does
not take still goes the full way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from softswitch.proxy import LocalAddress, ProxyCore
from softswitch.sip import Request, SipURI, make_response, parse_message
from softswitch.sip.peek import peek_dialog_ack
from softswitch.transaction import ServerTransaction
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

HOST = "127.0.0.1"
CALLER = Peer("udp", HOST, 5061)
OURS = f"<sip:{HOST}:5060;transport=udp;lr>"


class NextHops:
    """Every URI with an address in it is reachable; a host name needs a look-up."""

    def next_hop(self, uri: SipURI) -> Peer | None:
        if not uri.host[0].isdigit():
            return None
        return Peer(uri.transport or "udp", uri.host, uri.port or 5060)


def ack(
    *,
    uri: str = "sip:5552999@127.0.0.1:5080;transport=UDP",
    routes: str = f"Route: {OURS}\r\n",
    via: str = "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-2;rport",
    max_forwards: str = "Max-Forwards: 70\r\n",
    body: bytes = b"",
    extra: str = "",
) -> bytes:
    head = (
        f"ACK {uri} SIP/2.0\r\n"
        f"Via: {via}\r\n"
        f"{routes}{max_forwards}"
        "From: sipp <sip:5551001@127.0.0.1:5061>;tag=caller\r\n"
        "To: <sip:5552999@127.0.0.1:5060>;tag=callee\r\n"
        "Call-ID: 1-ack@127.0.0.1\r\nCSeq: 1 ACK\r\n"
        f"Contact: <sip:sipp@127.0.0.1:5061>\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Harness:
    def __init__(self, fast: bool) -> None:
        self.sent: list[tuple[Peer, bytes]] = []
        self.endpoint = SipEndpoint(self._take, on_event=self._event)
        self.fast = fast
        self.proxy: ProxyCore | None = None

    def _take(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        # an INVITE answered 486 here, so its ACK belongs to the transaction
        self.endpoint.respond(tx, make_response(request, 486, to_tag="callee"))

    def _event(self, output: object) -> None:
        assert self.proxy is not None
        self.proxy.handle_event(output)  # type: ignore[arg-type]

    async def start(self) -> None:
        port = await self.endpoint.listen(HOST, 0)
        self.endpoint.transport.send = lambda peer, data: self.sent.append((peer, data))  # type: ignore[method-assign]
        # the route entry the tests write names port 5060: this node, whatever port it bound
        self.proxy = ProxyCore(self.endpoint, LocalAddress(HOST, 5060), NextHops())  # type: ignore[arg-type]
        assert port
        if self.fast:
            self.endpoint.ack_relay = self.proxy.relay_ack

    def feed(self, data: bytes, peer: Peer = CALLER) -> list[tuple[Peer, bytes]]:
        before = len(self.sent)
        self.endpoint._received(data, peer)
        return self.sent[before:]


@pytest.fixture
async def paths() -> AsyncIterator[tuple[Harness, Harness]]:
    fast, full = Harness(fast=True), Harness(fast=False)
    await fast.start()
    await full.start()
    yield fast, full
    await fast.endpoint.close()
    await full.endpoint.close()


def where(peer: Peer) -> tuple[str, str, int]:
    return peer.transport, peer.host, peer.port


def same_but_branch(fast: bytes, full: bytes) -> Request:
    """The two ACKs read the same: start line, fields, body; only our new top Via's branch
    differs (and how the fields are written, which the parse evens out)."""
    a, b = parse_message(fast), parse_message(full)
    assert isinstance(a, Request) and isinstance(b, Request)
    assert (a.method, a.uri, a.body) == (b.method, b.uri, b.body)
    assert a.top_via.branch != b.top_via.branch
    assert a.top_via.branch is not None and a.top_via.branch.startswith("z9hG4bK")
    a.top_via.params.pop("branch")
    b.top_via.params.pop("branch")
    assert str(a.top_via) == str(b.top_via)

    def fields(request: Request) -> list[tuple[str, str]]:
        # only the order of fields of one name counts (§7.3.1): a stable sort by name
        named = [(k, v) for k, _, v in request._fields if k != "via" and k != "route"]
        return sorted(named, key=lambda field: field[0])

    assert fields(a) == fields(b)
    assert a.header_values("via")[1:] == b.header_values("via")[1:]
    assert a.header_values("route") == b.header_values("route")
    return a


CASES = {
    "loose route to the Request-URI": ack(),
    "on to the next loose router": ack(routes=f"Route: {OURS}, <sip:192.0.2.9:5070;lr>\r\n"),
    "two entries of ours, then a router": ack(
        routes=f"Route: {OURS}\r\nRoute: <sip:127.0.0.1:5060;transport=tcp;lr>\r\n"
        "Route: <sip:192.0.2.9:5070;lr>, <sip:192.0.2.10;lr>\r\n"
    ),
    "no Max-Forwards": ack(max_forwards=""),
    "a body (the answer of a late offer)": ack(
        body=b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n",
        extra="Content-Type: application/sdp\r\n",
    ),
    "a Via the transport stamps": ack(via="SIP/2.0/UDP phone.example:5061;branch=z9hG4bK-7;rport"),
    "compact names": ack(extra="k: timer\r\n").replace(b"Call-ID:", b"i:").replace(b"Via:", b"v:"),
    "two Vias": ack(extra="Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-below\r\n"),
}


@pytest.mark.parametrize("data", CASES.values(), ids=CASES.keys())
async def test_an_ack_relayed_from_its_bytes_is_the_ack_the_full_path_sends(
    paths: tuple[Harness, Harness], data: bytes
) -> None:
    fast, full = paths
    assert peek_dialog_ack(data) is not None  # the bytes path takes it
    ((fast_peer, fast_data),) = fast.feed(data)
    ((full_peer, full_data),) = full.feed(data)
    assert where(fast_peer) == where(full_peer)
    relayed = same_but_branch(fast_data, full_data)
    # one hop less, or 70 where the ACK had none (§16.6 step 3)
    assert relayed.max_forwards == (69 if b"Max-Forwards" in data else 70)
    assert relayed.header("content-length") == str(len(relayed.body))


async def test_the_ack_goes_to_the_next_route_entry_with_ours_taken_off(
    paths: tuple[Harness, Harness],
) -> None:
    fast, _ = paths
    ((peer, data),) = fast.feed(CASES["two entries of ours, then a router"])
    assert where(peer) == ("udp", "192.0.2.9", 5070)
    relayed = parse_message(data)
    assert isinstance(relayed, Request)
    assert relayed.header_values("route") == ["<sip:192.0.2.9:5070;lr>", "<sip:192.0.2.10;lr>"]
    assert relayed.vias[0].host == HOST and relayed.vias[1].branch == "z9hG4bK-1-2"
    stamped = parse_message(fast.feed(CASES["a Via the transport stamps"])[0][1])
    assert isinstance(stamped, Request)
    assert stamped.vias[1].received == HOST and stamped.vias[1].rport == 5061


async def test_an_ack_with_no_hops_left_is_dropped_on_both_paths(
    paths: tuple[Harness, Harness],
) -> None:
    fast, full = paths
    spent = ack(max_forwards="Max-Forwards: 0\r\n")
    assert fast.feed(spent) == [] and full.feed(spent) == []


UNTAKEN = {
    "folded line": ack(extra="Subject: a\r\n long one\r\n"),
    "bare LF": ack().replace(b"CSeq: 1 ACK\r\n", b"CSeq: 1 ACK\n"),
    "no Content-Length": ack().replace(b"Content-Length: 0\r\n", b""),
    "Content-Length past the body": ack().replace(b"Content-Length: 0", b"Content-Length: 9"),
    "two Call-IDs": ack(extra="Call-ID: again\r\n"),
    "two values on the first Via line": ack(
        via="SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-2, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx"
    ),
    "a CSeq of another method": ack().replace(b"CSeq: 1 ACK", b"CSeq: 1 INVITE"),
}


@pytest.mark.parametrize("data", UNTAKEN.values(), ids=UNTAKEN.keys())
def test_what_is_not_in_the_usual_form_is_left_to_the_full_parse(data: bytes) -> None:
    assert peek_dialog_ack(data) is None


LEFT_TO_THE_FULL_PATH = {
    "a strict router next": ack(routes=f"Route: {OURS}, <sip:192.0.2.9:5070>\r\n"),
    "a next hop to look up": ack(routes=f"Route: {OURS}, <sip:proxy.example;lr>\r\n"),
    "not routed through us": ack(routes="Route: <sip:192.0.2.9:5070;lr>\r\n"),
    "a folded line": UNTAKEN["folded line"],
}


@pytest.mark.parametrize("data", LEFT_TO_THE_FULL_PATH.values(), ids=LEFT_TO_THE_FULL_PATH.keys())
async def test_the_full_path_still_relays_what_the_bytes_path_leaves(
    paths: tuple[Harness, Harness], data: bytes
) -> None:
    fast, full = paths
    assert fast.proxy is not None and not fast.proxy.relay_ack(data, CALLER)
    assert len(fast.feed(data)) == len(full.feed(data))


async def test_an_ack_for_us_or_for_a_final_response_of_ours_is_not_relayed(
    paths: tuple[Harness, Harness],
) -> None:
    fast, _ = paths
    # a dialog of our own (an operator queue's leg): the Request-URI names this node
    assert fast.feed(ack(uri="sip:queue-1@127.0.0.1:5060")) == []
    # the ACK of a 486 we sent: it ends the INVITE's transaction (§17.2.1), nothing goes on
    invite = ack().replace(b"ACK sip", b"INVITE sip").replace(b"1 ACK", b"1 INVITE")
    ((_, answer),) = fast.feed(invite)
    assert parse_message(answer).status == 486  # type: ignore[union-attr]
    assert fast.feed(ack()) == []
    assert fast.proxy is not None and not fast.proxy.relay_ack(ack(), CALLER)
