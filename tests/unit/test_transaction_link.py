"""A client and a server transaction table talking over an in-memory link that loses packets.

The UAC and UAS cores here are the least that RFC 3261 asks of them: the UAS answers an INVITE
with 180 and, a second later, its final response, and retransmits a 2xx until the ACK comes
(§13.3.1.4); the UAC acknowledges every 2xx it is handed, with an ACK of a branch of its own
(§13.2.2.4). Everything runs on a simulated clock.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable

import pytest

from softswitch.sip import Request, Response, make_response, parse_message
from softswitch.transaction import (
    AckReceived,
    RequestReceived,
    ResponseReceived,
    Send,
    Terminated,
    Timeout,
    TransactionTable,
    UnmatchedAck,
    branch,
    build_ack,
)

LATENCY = 0.02
T1, T2 = 0.5, 4.0


def make_request(method: str) -> Request:
    text = (
        f"{method} sip:bob@biloxi.example SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP pc33.atlanta.example;branch={branch()}\r\n"
        "Max-Forwards: 70\r\n"
        "To: Bob <sip:bob@biloxi.example>\r\n"
        "From: Alice <sip:alice@atlanta.example>;tag=1928301774\r\n"
        "Call-ID: a84b4c76e66710@pc33.atlanta.example\r\n"
        f"CSeq: 1 {method}\r\n"
        "\r\n"
    )
    message = parse_message(text.encode())
    assert isinstance(message, Request)
    return message


class Network:
    """Two tables, the cores above them, and a link that drops what `lose` picks."""

    def __init__(self, final: int, lose: Callable[[bytes], bool], reliable: bool = False) -> None:
        self.final = final
        self.lose = lose
        self.reliable = reliable
        self.client = TransactionTable()
        self.server = TransactionTable()
        self.now = 0.0
        self.packets: list[tuple[float, int, str, bytes]] = []  # (arrival, seq, to, data)
        self.tasks: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = 0
        self.sent = {"client": 0, "server": 0}
        self.lost = 0
        self.client_responses: list[int] = []
        self.client_events: list[object] = []
        self.server_events: list[object] = []
        self.acked = False

    # -- plumbing ---------------------------------------------------------------------------

    def transmit(self, to: str, data: bytes) -> None:
        self.sent["client" if to == "server" else "server"] += 1
        if not self.reliable and self.lose(data):
            self.lost += 1
            return
        self.seq += 1
        heapq.heappush(self.packets, (self.now + LATENCY, self.seq, to, data))

    def later(self, delay: float, task: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.tasks, (self.now + delay, self.seq, task))

    def run(self, until: float = 120.0) -> None:
        while True:
            times = [
                t
                for t in (
                    self.client.next_deadline(),
                    self.server.next_deadline(),
                    self.packets[0][0] if self.packets else None,
                    self.tasks[0][0] if self.tasks else None,
                )
                if t is not None
            ]
            if not times or min(times) > until:
                return
            self.now = min(times)
            while self.packets and self.packets[0][0] <= self.now:
                _, _, to, data = heapq.heappop(self.packets)
                self.deliver(to, parse_message(data))
            while self.tasks and self.tasks[0][0] <= self.now:
                heapq.heappop(self.tasks)[2]()
            self.on_client(self.client.handle_timers(self.now))
            self.on_server(self.server.handle_timers(self.now))

    def deliver(self, to: str, message: Request | Response) -> None:
        if to == "server":
            assert isinstance(message, Request)
            peer = ("client", 5060)
            self.on_server(
                self.server.receive_request(message, peer, self.now, reliable=self.reliable)
            )
        else:
            assert isinstance(message, Response)
            self.on_client(self.client.receive_response(message, self.now))

    # -- the cores --------------------------------------------------------------------------

    def start(self, method: str) -> None:
        self.request = make_request(method)
        _, out = self.client.send_request(
            self.request, ("server", 5060), self.now, reliable=self.reliable
        )
        self.on_client(out)

    def on_client(self, outputs: list) -> None:
        for output in outputs:
            if type(output) is Send:
                self.transmit("server", output.data)
                continue
            self.client_events.append(output)
            if type(output) is ResponseReceived:
                response = output.response
                self.client_responses.append(response.status)
                if self.request.method == "INVITE" and 200 <= response.status < 300:
                    ack = build_ack(self.request, response)  # then made end-to-end:
                    ack.set_header("Via", f"SIP/2.0/UDP pc33.atlanta.example;branch={branch()}")
                    self.transmit("server", ack.to_bytes())

    def on_server(self, outputs: list) -> None:
        for output in outputs:
            if type(output) is Send:
                self.transmit("client", output.data)
                continue
            self.server_events.append(output)
            if type(output) is RequestReceived:
                self.uas(output.tx)
            elif type(output) in (AckReceived, UnmatchedAck):
                self.acked = True

    def uas(self, tx) -> None:
        request = tx.request
        if request.method != "INVITE":
            self.respond(tx, make_response(request, self.final, to_tag="bob1"))
            return
        self.respond(tx, make_response(request, 180, to_tag="bob1"))
        final = make_response(request, self.final, to_tag="bob1")
        self.later(1.0, lambda: self.respond(tx, final, retransmit_2xx=True))

    def respond(self, tx, response: Response, retransmit_2xx: bool = False) -> None:
        self.on_server(self.server.send_response(tx, response, self.now))
        if retransmit_2xx and 200 <= response.status < 300 and not self.reliable:
            self.retransmit_2xx(tx, response, T1, self.now + 64 * T1)

    def retransmit_2xx(self, tx, response: Response, interval: float, give_up: float) -> None:
        """§13.3.1.4: the UAS core sends the 2xx again, T1 doubling up to T2, until the ACK."""

        def again() -> None:
            if self.acked or self.now >= give_up or tx.terminated:
                return
            self.on_server(self.server.send_response(tx, response, self.now))
            self.retransmit_2xx(tx, response, min(2 * interval, T2), give_up)

        self.later(interval, again)


def kinds(events: list) -> list[type]:
    return [type(event) for event in events]


def drop_first(counts: dict[str, int]) -> Callable[[bytes], bool]:
    """Lose the first n packets whose first line starts with each key."""
    left = dict(counts)

    def lose(data: bytes) -> bool:
        first = data.split(b"\r\n", 1)[0].decode()
        for prefix, n in left.items():
            if first.startswith(prefix) and n > 0:
                left[prefix] = n - 1
                return True
        return False

    return lose


def test_rejected_invite_survives_lost_invites_responses_and_acks() -> None:
    lose = drop_first({"INVITE": 2, "SIP/2.0 486": 2, "ACK": 1})
    net = Network(486, lose)
    net.start("INVITE")
    net.run()
    # The INVITE went out three times (A at 0.5 and 1.5 s); the 486 reached the TU once.
    assert net.client_responses.count(486) == 1
    assert 180 in net.client_responses
    assert net.lost == 5
    assert len(net.client) == len(net.server) == 0  # D, I ended both sides
    assert not any(type(e) is Timeout for e in net.client_events + net.server_events)
    assert kinds(net.server_events) == [RequestReceived, Terminated]


def test_accepted_invite_with_lost_2xx_is_acknowledged_end_to_end() -> None:
    net = Network(200, drop_first({"SIP/2.0 200": 2, "ACK": 1}))
    net.start("INVITE")
    net.run()
    # Every 2xx that arrives goes up (RFC 6026 Accepted), and each one is acknowledged.
    assert net.client_responses[0] == 180 and net.client_responses.count(200) >= 1
    assert net.acked
    events = kinds(net.server_events)
    assert events[0] is RequestReceived and UnmatchedAck in events  # the ACK has its own branch
    assert len(net.client) == len(net.server) == 0  # L and M ended both sides


def test_non_invite_request_survives_losses() -> None:
    net = Network(200, drop_first({"BYE": 3, "SIP/2.0 200": 2}))
    net.start("BYE")
    net.run()
    assert net.client_responses == [200]
    # Sent at 0, 0.5, 1.5 (lost), 3.5 and 7.5 (their 200s lost), 11.5 s (answered).
    assert net.sent["client"] == 6
    assert len(net.client) == len(net.server) == 0


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(("method", "final"), [("INVITE", 486), ("INVITE", 200), ("BYE", 200)])
def test_random_loss_delivers_one_final_response_and_cleans_up(seed, method, final) -> None:
    rng = random.Random(seed)
    net = Network(final, lambda data: rng.random() < 0.3)
    net.start(method)
    net.run()
    finals = [status for status in net.client_responses if status >= 200]
    if method == "INVITE" and final == 200:
        assert finals and set(finals) == {200}  # 2xx may repeat: each one is passed up
    else:
        assert finals == [final]  # retransmitted final responses are absorbed
    assert len(net.client) == len(net.server) == 0
    assert net.client.next_deadline() is None and net.server.next_deadline() is None


@pytest.mark.parametrize(("method", "final"), [("INVITE", 486), ("INVITE", 200), ("BYE", 200)])
def test_reliable_transport_sends_everything_once(method, final) -> None:
    net = Network(final, lambda data: False, reliable=True)
    net.start(method)
    net.run()
    assert [s for s in net.client_responses if s >= 200] == [final]
    # request, and for INVITE the ACK; 180 and the final response the other way
    assert net.sent == (
        {"client": 2, "server": 2} if method == "INVITE" else {"client": 1, "server": 1}
    )
    assert len(net.client) == len(net.server) == 0
