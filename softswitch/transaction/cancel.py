"""Building a CANCEL for an INVITE we sent (RFC 3261 §9.1)."""

from __future__ import annotations

from ..sip import Request
from ..sip.headers import header_key


def build_cancel(invite: Request, reason: str | None = None) -> Request:
    """The CANCEL for `invite`, to send as a non-INVITE client transaction to the same peer.

    §9.1: the Request-URI, Call-ID, To, From and the CSeq number of the INVITE, with method
    CANCEL; one Via, the INVITE's top one (so it carries the INVITE's branch); the INVITE's
    Route header fields. `reason` is an optional Reason header value (RFC 3326), such as
    `SIP;cause=200;text="Call completed elsewhere"` for the other forks of an answered call.
    """
    if invite.method != "INVITE":
        raise ValueError(f"only an INVITE is cancelled, not a {invite.method}")
    cancel = Request("CANCEL", invite.uri)
    cancel.add_header("Via", invite.header_values("via")[0])
    max_forwards = invite.header("max-forwards")
    if max_forwards is not None:
        cancel.add_header("Max-Forwards", max_forwards)
    for name, value in invite.fields():
        if header_key(name) == "route":
            cancel.add_header(name, value)
    for key in ("from", "to"):
        copied = invite.header(key)
        assert copied is not None  # parse_message checked From and To exist
        cancel.add_header(key, copied)
    cancel.add_header("Call-ID", invite.call_id)
    cancel.add_header("CSeq", f"{invite.cseq.number} CANCEL")
    if reason is not None:
        cancel.add_header("Reason", reason)
    return cancel
