"""What the server transport does to the top Via of a received request (RFC 3261 §18.2.1,
RFC 3581 §4) and where a response goes (§18.2.2)."""

from __future__ import annotations

from ..sip import Request, Response
from .peer import Peer


def stamp_received(request: Request, peer: Peer) -> None:
    """Add `received` when the sent-by host is not the source address, and fill an empty
    `rport` with the source port, so the response reaches a phone behind NAT."""
    via = request.top_via
    host = via.host[1:-1] if via.host.startswith("[") else via.host
    changed = False
    if host != peer.host:
        via.params["received"] = peer.host
        changed = True
    if "rport" in via.params and not via.params["rport"]:
        via.params["rport"] = str(peer.port)
        via.params["received"] = peer.host
        changed = True
    if changed:
        # the parsed Via in the cache was edited in place; only the text needs the change
        request.replace_first_value("via", str(via))


def response_peer(response: Response, request_peer: Peer | None) -> Peer:
    """Where a response to a request goes: back on the connection it came on, else to the
    address the top Via names (received, rport, maddr) per §18.2.2 and RFC 3581."""
    via = response.top_via
    transport = via.transport.lower()
    if request_peer is not None and request_peer.transport == transport:
        if request_peer.connection is not None and request_peer.connection.is_open:
            return request_peer
        if transport == "udp" and via.has_rport:
            return request_peer
    default = 5061 if transport == "tls" else 5060
    host, port = via.response_address(default)
    local_port = request_peer.local_port if request_peer is not None else 0
    return Peer(transport, host, port, None, local_port)
