"""Who "we" are on the wire: the addresses this node puts in Via and Record-Route, and the test
for a URI that names this node (§16.4)."""

from __future__ import annotations

import hashlib

from ..sip import Request, SipURI, Via, parse_name_addr
from ..transport import format_host

# The node's own entries are a handful (per transport, per way of writing them); a bound, as
# peers choose what they send.
_MAX_OUR_ROUTES = 64


class LocalAddress:
    """This node's SIP identity: one advertised host, one port for UDP and TCP, and every host
    name or address a peer may use to reach it. A worker process also answers on the port it
    shares with the other workers (`shared_port`), but puts its own in Via and Record-Route,
    so that responses and requests inside its dialogs come back to it."""

    __slots__ = ("_our_routes", "_rr", "aliases", "host", "port", "ports")

    def __init__(
        self,
        host: str,
        port: int,
        aliases: tuple[str, ...] = (),
        shared_port: int | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.ports = frozenset((port,) if shared_port is None else (port, shared_port))
        self.aliases = frozenset(
            h.lower().strip("[]") for h in (host, *aliases) if h not in ("0.0.0.0", "::")
        )
        self._rr = {
            transport: f"<sip:{format_host(host)}:{port};transport={transport};lr>"
            for transport in ("udp", "tcp")
        }
        # Route values found to name this node: its own Record-Route entries, which come back
        # in every request of every dialog it is in
        self._our_routes: set[str] = set()

    def is_ours(self, uri: object) -> bool:
        """Does this URI name this node (a Route or Request-URI pointing at us)?"""
        if not isinstance(uri, SipURI):
            return False
        host = uri.host.lower().strip("[]")
        if host not in self.aliases:
            return False
        port = uri.port if uri.port is not None else 5060
        return port in self.ports

    def names_us(self, route: str) -> bool:
        """Does this Route value (a name-addr as written) name this node? Raises ParseError
        when it is not a name-addr."""
        if route in self._our_routes:
            return True
        ours = self.is_ours(parse_name_addr(route).uri)
        if ours and len(self._our_routes) < _MAX_OUR_ROUTES:
            self._our_routes.add(route)
        return ours

    def sent_by(self) -> str:
        return f"{format_host(self.host)}:{self.port}"

    def via(self, transport: str, branch: str) -> Via:
        return Via(transport, format_host(self.host), self.port, {"branch": branch})

    def record_route(self, transport: str) -> str:
        return self._rr.get(transport) or (
            f"<sip:{format_host(self.host)}:{self.port};transport={transport};lr>"
        )


def loop_hash(request: Request) -> str:
    """The part of our branch that tells a loop from a spiral (§16.6 step 8, §16.3 step 4): the
    same request coming back unchanged hashes the same; a retargeted one does not."""
    parts = (
        request.uri,
        request.from_addr.tag or "",
        request.to_addr.tag or "",
        request.call_id,
        str(request.cseq.number),
        request.header("proxy-require") or "",
        request.header("proxy-authorization") or "",
        ",".join(request.header_values("route")),
    )
    return hashlib.blake2s("\x00".join(parts).encode(), digest_size=6).hexdigest()
