"""A proxy core on a real endpoint whose sends are kept, fed datagrams by hand (the messages of
bench/hotpath.py): for tests of what the proxy sends where."""

from __future__ import annotations

from bench.hotpath import HOST, OneTrunk
from softswitch.proxy import LocalAddress, ProxyCore
from softswitch.proxy.core import TIMER_C, CallRouter
from softswitch.sip import Message, Request, parse_message
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

PEER = Peer("udp", "127.0.0.1", 5090)  # another proxy on a dialog's route set
PEER_ROUTE = f"<sip:{PEER.host}:{PEER.port};lr>"


class ProxyNode:
    def __init__(self, router: CallRouter | None = None, *, timer_c: float = TIMER_C) -> None:
        self.router = router or OneTrunk()
        self.timer_c = timer_c
        self.sent: list[tuple[Peer, bytes]] = []
        self.endpoint = SipEndpoint(
            lambda request, peer, tx: self.proxy.handle_request(request, peer, tx),
            on_event=lambda output: self.proxy.handle_event(output),
        )

    async def start(self) -> int:
        port = await self.endpoint.listen(HOST, 0)  # nothing arrives on it: tests feed it
        self.proxy = ProxyCore(
            self.endpoint, LocalAddress(HOST, port), self.router, timer_c=self.timer_c
        )
        self.endpoint.transport.send = lambda peer, data: self.sent.append((peer, data))  # type: ignore[method-assign]
        return port

    def record_route(self) -> str:
        """The Route entry that names this node, as its Record-Route wrote it."""
        return self.proxy.local.record_route("udp")

    def feed(self, data: bytes, peer: Peer) -> None:
        self.endpoint._received(data, peer)

    def sent_to(self, peer: Peer) -> list[Message]:
        return [parse_message(data) for to, data in self.sent if to.port == peer.port]

    def requests_to(self, peer: Peer, method: str) -> list[Request]:
        return [m for m in self.sent_to(peer) if isinstance(m, Request) and m.method == method]
