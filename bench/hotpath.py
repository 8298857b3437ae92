"""CPU per message of the proxy's hot path, in one process, without sockets.

`python -m bench.hotpath [--calls N]` runs the endpoint, the transaction table and the proxy
core of the softswitch on the six messages a call brings to it (sipp's INVITE, the callee's 180
and 200, the ACK, the BYE and its 200), N calls over, with a router that sends every call to
one trunk and sends that only count. It prints the CPU time (of this thread) each kind of
message took, median over five rounds, and the same as JSON on its last line. What the socket
calls cost comes on top (see the calls benchmark); what this measures is the Python work.

No timer fires in the loop, so every call's transactions are still alive at the end, as in the
server for 32 s after a call's last message: it also prints the bytes of what the transaction
table and the proxy hold for each call then, and then the CPU it takes to end them all (their
last timers fire, and what they held is freed), per call.

In a loop like this the caches keep what the last call's pass through the same code left there;
in the server they hold what the other calls touched meanwhile. `--evict MB` writes that much
memory before each message, so that it finds them cold.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from softswitch.collector import THRESHOLDS
from softswitch.proxy import LocalAddress, ProxyCore
from softswitch.proxy.context import Target
from softswitch.proxy.core import Admission, Routing
from softswitch.server import install_event_loop_policy
from softswitch.sip import Request, Response, SipURI, make_response, parse_message
from softswitch.transaction import ServerTransaction, TimerConfig, TransportTimers
from softswitch.transport import Peer
from softswitch.transport.endpoint import SipEndpoint

KINDS = ("INVITE", "180", "200 INVITE", "ACK", "BYE", "200 BYE")
HOST = "127.0.0.1"
CALLER = Peer("udp", HOST, 5061)
CALLEE = Peer("udp", HOST, 5080)
SDP = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


class OneTrunk:
    """Every call to the callee's address, admitted like a peer exchange's."""

    def admit(self, request: Request, peer: Peer, now: float) -> Admission:
        return Admission("trunk:ORIG")

    def locate(self, request: Request, admission: Admission, now: float) -> Routing:
        number = request.request_uri.user if isinstance(request.request_uri, SipURI) else ""
        uri = f"sip:{number}@{CALLEE.host}:{CALLEE.port}"
        return Routing([Target(uri, CALLEE)], dialed=number or "", number=number or "")

    def next_hop(self, uri: SipURI) -> Peer:
        return Peer(uri.transport or "udp", uri.host, uri.port or 5060)

    def enqueue(self, *args: object) -> None:
        raise AssertionError("no queues here")

    def cancel_queued(self, invite_tx: ServerTransaction) -> bool:
        return False


def invite(n: int, port: int) -> bytes:
    return (
        f"INVITE sip:5552999@{HOST}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-{n}-1-0;rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: sipp <sip:5551001@127.0.0.1:5061>;tag={n}SIPpTag00\r\n"
        f"To: <sip:5552999@{HOST}:{port}>\r\n"
        f"Call-ID: {n}-hotpath@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
        "Contact: <sip:sipp@127.0.0.1:5061;transport=UDP>\r\n"
        "Subject: Performance Test\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(SDP)}\r\n\r\n"
    ).encode() + SDP


def answer(forwarded: bytes, status: int, to_tag: str, body: bytes = b"") -> bytes:
    """The callee's response to a request the proxy forwarded to it."""
    request = parse_message(forwarded)
    assert isinstance(request, Request)
    headers = [("Contact", "<sip:5552999@127.0.0.1:5080;transport=UDP>")]
    headers += [("Record-Route", value) for value in request.header_values("record-route")]
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return make_response(request, status, to_tag=to_tag, headers=headers, body=body).to_bytes()


def in_dialog(method: str, cseq: int, n: int, route: str, branch: str, port: int) -> bytes:
    """The caller's ACK or BYE, along the route set the 200 gave it."""
    return (
        f"{method} sip:5552999@127.0.0.1:5080;transport=UDP SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-{n}-1-{branch};rport\r\n"
        f"Route: {route}\r\nMax-Forwards: 70\r\n"
        f"From: sipp <sip:5551001@127.0.0.1:5061>;tag={n}SIPpTag00\r\n"
        f"To: <sip:5552999@{HOST}:{port}>;tag={n}callee\r\n"
        f"Call-ID: {n}-hotpath@127.0.0.1\r\nCSeq: {cseq} {method}\r\n"
        "Contact: <sip:sipp@127.0.0.1:5061;transport=UDP>\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def measure(
    calls: int, rounds: int, evict: float = 0.0
) -> tuple[dict[str, float], int, float]:
    """CPU µs per kind of message, bytes of live state per call, CPU µs to end a call's state."""
    proxies: list[ProxyCore] = []  # wired as the server wires it, through its own methods
    endpoint = SipEndpoint(
        lambda request, peer, tx: proxies[0].handle_request(request, peer, tx),
        on_event=lambda output: proxies[0].handle_event(output),
    )
    port = await endpoint.listen(HOST, 0)  # nothing arrives on it: the messages are fed in
    proxies.append(ProxyCore(endpoint, LocalAddress(HOST, port), OneTrunk()))
    endpoint.ack_relay = proxies[0].relay_ack
    sent: list[tuple[Peer, bytes]] = []
    endpoint.transport.send = lambda peer, data: sent.append((peer, data))  # type: ignore[method-assign]
    feed: Callable[[bytes, Peer], None] = endpoint._received  # what the sockets would call
    # the collector as the serving process sets it (softswitch/collector.py), put back after
    thresholds = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    try:
        result = _rounds(feed, sent, port, calls, rounds, Evictor(evict))
        proxy = proxies[0]
        held = size_of([endpoint.table, proxy._contexts, proxy._branches])
        after_the_last_timer = asyncio.get_running_loop().time() + 64 * endpoint.table.timers.t1
        started = time.thread_time()
        endpoint._dispatch(endpoint.table.handle_timers(after_the_last_timer + 1))
        ending = time.thread_time() - started
        if len(endpoint.table) or proxy._contexts or proxy._branches:
            raise AssertionError("calls left alive after their transactions' last timers")
        return result, round(held / (calls * rounds)), round(ending / (calls * rounds) * 1e6, 1)
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        await endpoint.close()


# what a call's state points to but does not own: the code, and objects that every call shares
_SHARED = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    Peer,
    TimerConfig,
    TransportTimers,
)


def size_of(roots: list[object]) -> int:
    """Bytes of the objects reachable from `roots`, each counted once (what a collector walk
    finds, so the strings and bytes in them too), leaving out code and shared objects."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, _SHARED):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return total


CACHE_LINE = 64


class Evictor:
    """Writes `megabytes` of memory, a byte in every cache line, before each message is timed:
    in the server, the caches hold what the other calls' messages touched, not what the last
    turn through the same code left there."""

    def __init__(self, megabytes: float) -> None:
        self._memory = bytearray(int(megabytes * 1024 * 1024))
        self._marks = b"\x01" * len(self._memory[::CACHE_LINE])

    def __call__(self) -> None:
        if self._memory:
            self._memory[::CACHE_LINE] = self._marks


def _rounds(
    feed: Callable[[bytes, Peer], None],
    sent: list[tuple[Peer, bytes]],
    port: int,
    calls: int,
    rounds: int,
    evict: Evictor,
) -> dict[str, float]:
    per_round: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for round_ in range(rounds):
        spent = dict.fromkeys(KINDS, 0.0)

        def timed(kind: str, data: bytes, peer: Peer, spent: dict[str, float] = spent) -> None:
            evict()
            started = time.thread_time()
            feed(data, peer)
            spent[kind] += time.thread_time() - started

        def relayed(to: Peer, start: bytes) -> bytes:
            """What the proxy sent `to` since the last look, which must begin with `start`."""
            found = [data for peer, data in sent if peer.port == to.port]
            sent.clear()
            if len(found) != 1 or not found[0].startswith(start):
                raise AssertionError(f"expected one {start!r} to port {to.port}, got {found}")
            return found[0]

        for i in range(calls):
            n = round_ * calls + i
            sent.clear()
            timed("INVITE", invite(n, port), CALLER)
            forwarded = relayed(CALLEE, b"INVITE ")
            timed("180", answer(forwarded, 180, f"{n}callee"), CALLEE)
            relayed(CALLER, b"SIP/2.0 180 ")
            ok = answer(forwarded, 200, f"{n}callee", SDP)
            timed("200 INVITE", ok, CALLEE)
            response = parse_message(relayed(CALLER, b"SIP/2.0 200 "))
            assert isinstance(response, Response)
            route = response.header_values("record-route")[0]
            timed("ACK", in_dialog("ACK", 1, n, route, "5", port), CALLER)
            relayed(CALLEE, b"ACK ")
            timed("BYE", in_dialog("BYE", 2, n, route, "7", port), CALLER)
            bye = relayed(CALLEE, b"BYE ")
            timed("200 BYE", answer(bye, 200, f"{n}callee"), CALLEE)
            relayed(CALLER, b"SIP/2.0 200 ")
        for kind in KINDS:
            per_round[kind].append(spent[kind] / calls * 1e6)
    return {kind: round(statistics.median(values), 1) for kind, values in per_round.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="calls per round (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, median taken (5)")
    parser.add_argument(
        "--evict",
        type=float,
        default=0.0,
        metavar="MB",
        help="write MB of memory before each message, so it finds the caches cold (0)",
    )
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"calls": args.calls, "rounds": args.rounds, "evict_mb": args.evict}
    install_event_loop_policy()  # the server's loop: its timers are part of the cost
    per_message, state, ending = asyncio.run(measure(args.calls, args.rounds, args.evict))
    result["us_per_message"] = per_message
    result["us_per_call"] = round(sum(per_message.values()), 1)
    result["state_bytes_per_call"] = state
    result["us_ending_per_call"] = ending
    for kind, value in per_message.items():
        print(f"{kind:12} {value:8.1f} µs")
    print(f"{'a call':12} {result['us_per_call']:8.1f} µs")
    print(f"{'its state':12} {state:8} bytes, held until its transactions end")
    print(f"{'ending them':12} {ending:8.1f} µs")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
