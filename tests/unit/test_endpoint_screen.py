"""The endpoint's screen: a new request it refuses is answered from its bytes without a
transaction; a retransmission of a request already taken still reaches its transaction, and
what the screen does not apply to is never put to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from softswitch.sip import Request, Response, make_response, parse_message
from softswitch.sip.peek import NewRequest
from softswitch.transaction import ServerTransaction
from softswitch.transport import Peer
from softswitch.transport.endpoint import Answer, SipEndpoint

CALLER = Peer("udp", "127.0.0.1", 5061)


def invite(branch: str, call_id: str, extra: str = "", to_tag: str = "") -> bytes:
    return (
        "INVITE sip:5552999@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.7:5061;branch=z9hG4bK{branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:5551001@127.0.0.1>;tag=caller\r\n"
        f"To: <sip:5552999@127.0.0.1>{to_tag}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\n{extra}Content-Length: 0\r\n\r\n"
    ).encode()


class Harness:
    def __init__(self) -> None:
        self.taken: list[Request] = []
        self.sent: list[tuple[Peer, bytes]] = []
        self.asked: list[str] = []
        self.refuse = False
        self.answer = Answer(503, [("Retry-After", "30")])
        self.endpoint = SipEndpoint(self._take)

    def _take(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        self.taken.append(request)
        self.endpoint.respond(tx, make_response(request, 100))

    def screen(self, request: NewRequest, peer: Peer) -> Answer | None:
        self.asked.append(request.method)
        return self.answer if self.refuse else None

    def last_answer(self) -> Response:
        answer = parse_message(self.sent[-1][1])
        assert isinstance(answer, Response)
        return answer

    def feed(self, data: bytes) -> None:
        self.endpoint._received(data, CALLER)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    await harness.endpoint.listen("127.0.0.1", 0)
    harness.endpoint.transport.send = lambda peer, data: harness.sent.append((peer, data))  # type: ignore[method-assign]
    harness.endpoint.screen = harness.screen
    yield harness
    await harness.endpoint.close()


async def test_a_refused_request_is_answered_without_a_transaction(harness: Harness) -> None:
    harness.refuse = True
    harness.feed(invite("1", "refused@test"))
    assert harness.taken == [] and harness.asked == ["INVITE"]
    assert len(harness.endpoint.table) == 0
    answer = harness.last_answer()
    assert answer.status == 503 and answer.header("retry-after") == "30"
    # answered where the request came from, its Via stamped as the transport does (§18.2.1)
    assert harness.sent[-1][0] == CALLER
    assert answer.top_via.received == "127.0.0.1" and answer.top_via.rport == 5061
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
    assert harness.last_answer().status == 503


@pytest.mark.parametrize(
    "request_bytes",
    [
        invite("4", "dialog@test", to_tag=";tag=callee"),
        invite("6", "folded@test", extra="Subject: a\r\n folded line\r\n"),
    ],
    ids=["in a dialog", "in an unusual form"],
)
async def test_what_the_screen_does_not_apply_to_is_taken(
    harness: Harness, request_bytes: bytes
) -> None:
    harness.refuse = True
    harness.feed(request_bytes)
    assert harness.asked == []
    assert len(harness.taken) == 1


async def test_only_the_requests_named_are_screened(harness: Harness) -> None:
    harness.endpoint.screened = (b"REGISTER ",)
    harness.refuse = True
    harness.feed(invite("7", "not-screened@test"))
    assert harness.asked == [] and len(harness.taken) == 1
    register = invite("8", "screened@test").replace(b"INVITE", b"REGISTER")
    harness.feed(register)
    assert harness.asked == ["REGISTER"] and harness.last_answer().status == 503


CREDENTIALS = 'Digest username="5551001", realm="ashford", nonce="n", uri="sip:x", response="r"'


async def test_with_every_request_screened_the_screen_sees_credentials(
    harness: Harness,
) -> None:
    seen: list[tuple[str, ...]] = []
    harness.endpoint.screen = lambda request, peer: seen.append(request.credentials)  # type: ignore[func-returns-value]
    harness.feed(invite("5", "answer@test", extra=f"Proxy-Authorization: {CREDENTIALS}\r\n"))
    harness.feed(invite("10", "new@test"))
    assert seen == [(CREDENTIALS,), ()]
    assert len(harness.taken) == 2


async def test_a_named_request_with_credentials_is_not_screened(harness: Harness) -> None:
    """The usual screen (REGISTERs only) leaves a REGISTER that answers a challenge to the
    full path, which checks its credentials."""
    harness.endpoint.screened = (b"REGISTER ",)
    harness.refuse = True
    register = invite("11", "answer@test", extra=f"Authorization: {CREDENTIALS}\r\n")
    harness.feed(register.replace(b"INVITE", b"REGISTER"))
    assert harness.asked == [] and len(harness.taken) == 1


async def test_an_answer_with_a_to_tag_of_its_own(harness: Harness) -> None:
    harness.answer = Answer(401, [("WWW-Authenticate", "Digest x")], "r1")
    harness.refuse = True
    harness.feed(invite("9", "tagged@test"))
    answer = harness.last_answer()
    assert answer.status == 401 and answer.to_addr.tag == "r1"
    assert answer.header_values("www-authenticate") == ["Digest x"]
