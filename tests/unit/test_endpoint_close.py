"""A response the transaction user gives after the endpoint closed (a database write that
finishes while the node stops) is dropped: nothing is sent, no timer is armed, no error."""

from __future__ import annotations

from softswitch.sip import Request, make_response
from softswitch.transaction import ServerTransaction
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

from .test_endpoint_screen import CALLER, invite


async def test_a_response_given_after_the_endpoint_closed_is_dropped() -> None:
    taken: list[tuple[Request, ServerTransaction]] = []
    sent: list[bytes] = []
    endpoint = SipEndpoint(lambda request, peer, tx: taken.append((request, tx)))
    await endpoint.listen("127.0.0.1", 0)

    def capture(peer: Peer, data: bytes) -> None:
        sent.append(data)

    endpoint.transport.send = capture  # type: ignore[method-assign]
    endpoint._received(invite("open", "open@test"), CALLER)
    endpoint._received(invite("late", "late@test"), CALLER)
    (open_request, open_tx), (late_request, late_tx) = taken

    # while open, a final response goes out and its transaction waits for the ACK on a timer
    endpoint.respond(open_tx, make_response(open_request, 486, to_tag="busy"))
    assert len(sent) == 1 and sent[0].startswith(b"SIP/2.0 486 ")
    assert endpoint._timer is not None

    await endpoint.close()
    assert endpoint._timer is None
    endpoint.respond(late_tx, make_response(late_request, 200, to_tag="late"))
    assert len(sent) == 1
    assert endpoint._timer is None
    assert not late_tx.terminated and late_tx.state.name == "PROCEEDING"
    assert open_tx.state.name == "COMPLETED"
