"""A SIP dialog as one side of it sees it (RFC 3261 §12): pure state, and the requests made in
it. The B2BUA keeps one per leg."""

from __future__ import annotations

from ..sip import NameAddr, Request, Response, SipURI, parse_name_addr


class Dialog:
    """Call-ID, tags, URIs, the remote target, the route set and the CSeq counters (§12.1)."""

    __slots__ = (
        "call_id",
        "local_cseq",
        "local_tag",
        "local_uri",
        "remote_cseq",
        "remote_tag",
        "remote_target",
        "remote_uri",
        "route_set",
    )

    def __init__(
        self,
        call_id: str,
        local_tag: str,
        remote_tag: str,
        local_uri: str,
        remote_uri: str,
        remote_target: str,
        route_set: list[str],
        local_cseq: int,
        remote_cseq: int,
    ) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_cseq = local_cseq
        self.remote_cseq = remote_cseq

    @property
    def key(self) -> tuple[str, str, str]:
        return self.call_id, self.local_tag, self.remote_tag

    @classmethod
    def as_uas(cls, request: Request, local_tag: str) -> Dialog:
        """§12.1.1: the dialog a 2xx to `request` creates on our (UAS) side."""
        contact = _first_contact(request)
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_addr.tag or "",
            local_uri=str(request.to_addr.uri),
            remote_uri=str(request.from_addr.uri),
            remote_target=contact or str(request.from_addr.uri),
            route_set=request.header_values("record-route"),
            local_cseq=0,
            remote_cseq=request.cseq.number,
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response) -> Dialog:
        """§12.1.2: the dialog a 2xx to our `request` creates; route set reversed."""
        contact = _first_contact(response)
        return cls(
            call_id=request.call_id,
            local_tag=request.from_addr.tag or "",
            remote_tag=response.to_addr.tag or "",
            local_uri=str(request.from_addr.uri),
            remote_uri=str(request.to_addr.uri),
            remote_target=contact or request.uri,
            route_set=list(reversed(response.header_values("record-route"))),
            local_cseq=request.cseq.number,
            remote_cseq=0,
        )

    def request(self, method: str, via: str, contact: str | None = None) -> Request:
        """A new request in this dialog (§12.2.1.1), loose routing only."""
        if method != "ACK":
            self.local_cseq += 1
        request = Request(method, self.remote_target)
        request.add_header("Via", via)
        request.add_header("Max-Forwards", "70")
        for route in self.route_set:
            request.add_header("Route", route)
        request.add_header("From", f"<{self.local_uri}>;tag={self.local_tag}")
        request.add_header("To", f"<{self.remote_uri}>;tag={self.remote_tag}")
        request.add_header("Call-ID", self.call_id)
        request.add_header("CSeq", f"{self.local_cseq} {method}")
        if contact is not None:
            request.add_header("Contact", contact)
        return request

    def receive(self, request: Request) -> bool:
        """§12.2.2: take a request the remote side sent in this dialog; False when its CSeq is
        out of order (answer 500). A re-INVITE or UPDATE refreshes the remote target."""
        number = request.cseq.number
        if self.remote_cseq and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        if request.method in ("INVITE", "UPDATE"):
            self.refresh_target(request)
        return True

    def refresh_target(self, message: Request | Response) -> None:
        """§12.2.1.2, §12.2.2: a target refresh's Contact becomes the remote target."""
        contact = _first_contact(message)
        if contact is not None:
            self.remote_target = contact

    def next_hop(self) -> SipURI | None:
        """Where a request in this dialog goes first: the first Route, or the remote target."""
        text = self.route_set[0] if self.route_set else f"<{self.remote_target}>"
        uri = parse_name_addr(text).uri
        return uri if isinstance(uri, SipURI) else None


def _first_contact(message: Request | Response) -> str | None:
    contacts: list[NameAddr] = message.contacts
    return str(contacts[0].uri) if contacts else None
