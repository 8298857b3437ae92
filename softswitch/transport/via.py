"""What the server transport does to the top Via of a received request (RFC 3261 §18.2.1,
RFC 3581 §4) and where a response goes (§18.2.2)."""

from __future__ import annotations

from ..sip import Request, Via
from .peer import Peer


def stamp_received(request: Request, peer: Peer) -> None:
    """Add `received` when the sent-by host is not the source address, and fill an empty
    `rport` with the source port, so the response reaches a phone behind NAT."""
    if stamp_via(request.top_via, peer):
        request.top_via_edited()


def stamp_via(via: Via, peer: Peer) -> bool:
    """`stamp_received` on a parsed top Via; True when it changed."""
    host = via.host[1:-1] if via.host.startswith("[") else via.host
    changed = False
    if host != peer.host:
        via.params["received"] = peer.host
        changed = True
    if "rport" in via.params and not via.params["rport"]:
        via.params["rport"] = str(peer.port)
        via.params["received"] = peer.host
        changed = True
    return changed


def response_peer(via: Via, request_peer: Peer) -> Peer:
    """Where the responses to a request go (§18.2.2, RFC 3581 §4): back on the connection it
    came on; over UDP to its source when it asked for rport, else to received/sent-by."""
    transport = via.transport.lower()
    if request_peer.transport == transport:
        if request_peer.connection is not None:
            return request_peer  # the layer falls back to a new connection if it has closed
        if transport == "udp" and via.has_rport:
            return request_peer
    default = 5061 if transport == "tls" else 5060
    host, port = via.response_address(default)
    return Peer(request_peer.transport, host, port, None, request_peer.local_port)
