"""The endpoint's screen: a new request it refuses is answered without a transaction, and a
retransmission of a request already taken still reaches its transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from softswitch.sip import Request, Response, make_response, parse_message
from softswitch.transaction import ServerTransaction
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

CALLER = Peer("udp", "127.0.0.1", 5061)


def invite(branch: str, call_id: str) -> bytes:
    return (
        "INVITE sip:5552999@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:5551001@127.0.0.1>;tag=caller\r\n"
        "To: <sip:5552999@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    ).encode()


class Harness:
    def __init__(self) -> None:
        self.taken: list[Request] = []
        self.sent: list[bytes] = []
        self.refuse = False
        self.endpoint = SipEndpoint(self._take)

    def _take(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        self.taken.append(request)
        self.endpoint.respond(tx, make_response(request, 100))

    def screen(self, request: Request) -> Response | None:
        return make_response(request, 503, to_tag="refused") if self.refuse else None

    def feed(self, data: bytes) -> None:
        self.endpoint._received(data, CALLER)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.endpoint.listen("127.0.0.1", 0)
    harness.endpoint.transport.send = lambda peer, data: harness.sent.append(data)  # type: ignore[method-assign]
    harness.endpoint.screen = harness.screen
    yield harness
    await harness.endpoint.close()


async def test_a_refused_request_is_answered_without_a_transaction(harness: Harness) -> None:
    harness.refuse = True
    harness.feed(invite("1", "refused@test"))
    assert harness.taken == []
    assert len(harness.endpoint.table) == 0
    answer = parse_message(harness.sent[-1])
    assert isinstance(answer, Response) and answer.status == 503
    harness.feed(invite("1", "refused@test"))  # its retransmission: refused again, the same way
    assert harness.sent[-1] == harness.sent[-2]
    assert len(harness.endpoint.table) == 0


async def test_a_request_taken_before_the_refusals_began_keeps_its_transaction(
    harness: Harness,
) -> None:
    harness.feed(invite("2", "taken@test"))
    assert len(harness.taken) == 1
    trying = harness.sent[-1]
    harness.refuse = True
    harness.feed(invite("2", "taken@test"))  # retransmitted: the transaction answers it
    assert len(harness.taken) == 1
    assert harness.sent[-1] == trying  # its 100 again, not a 503
    harness.feed(invite("3", "new@test"))
    assert parse_message(harness.sent[-1]).status == 503  # type: ignore[union-attr]
