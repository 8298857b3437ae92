"""Request validation before a request is proxied (RFC 3261 §16.3)."""

from __future__ import annotations

from ..sip import Request, Response, make_response
from .local import LocalAddress, loop_hash

DEFAULT_MAX_FORWARDS = 70


def validate(request: Request, local: LocalAddress, to_tag: str) -> Response | None:
    """The error response for a request that must not be forwarded, or None."""
    # Step 3: Max-Forwards (a request without one is given 70 when forwarded).
    max_forwards = request.max_forwards
    if max_forwards is not None and max_forwards <= 0:
        return make_response(request, 483, to_tag=to_tag)
    # Step 4: loop detection. Our own Via with the same loop hash: the request came back
    # unchanged (a spiral, retargeted on the way, hashes differently).
    ours = local.sent_by()
    current = None
    for via in request.vias:
        if f"{via.host}:{via.port}" == ours:
            branch = via.branch or ""
            if current is None:
                current = loop_hash(request)
            if branch.endswith("." + current) or f".{current}." in branch:
                return make_response(request, 482, to_tag=to_tag)
    # Step 5: Proxy-Require; this proxy supports no extensions that need it.
    required = request.header_values("proxy-require")
    if required:
        return make_response(
            request, 420, to_tag=to_tag, headers=[("Unsupported", ", ".join(required))]
        )
    return None
