"""Transaction keys: which transaction a received message belongs to (RFC 3261 §17.1.3, §17.2.3).

Keys are tuples, compared and hashed by the table's dicts:

- client transaction: `(branch, method)` of the request it sent; a response finds it by the
  branch of its top Via and the method of its CSeq (§17.1.3). The method tells a CANCEL's
  transaction from the INVITE's, which has the same branch.
- server transaction, request from an RFC 3261 client (branch starting with the magic cookie
  `z9hG4bK`): `(branch, sent-by host, sent-by port, method)`, an ACK counting as INVITE
  (§17.2.3 points 1-3).
- server transaction, request from an RFC 2543 client (no cookie): `("", Request-URI, To tag,
  From tag, Call-ID, CSeq number, method, top Via)` (§17.2.3 fallback). Its ACK carries the To
  tag of the response rather than the INVITE's, so an INVITE transaction that sent a final
  response is also filed under `legacy_ack_key(invite, to_tag)`.

Branches are tokens, compared without regard to case (§7.3.1); they are lower-cased here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..sip import Request, Response, Via

MAGIC_COOKIE = "z9hG4bK"
_COOKIE = MAGIC_COOKIE.lower()

Key = tuple[Any, ...]


def is_rfc3261_branch(branch: str | None) -> bool:
    """Does the branch begin with the magic cookie (§8.1.1.7)?"""
    return branch is not None and branch[:7].lower() == _COOKIE


def is_legacy_key(key: Key) -> bool:
    """Is this the key of a server transaction for an RFC 2543 client?"""
    return key[0] == ""


def client_key(request: Request) -> Key:
    """The key of the client transaction that sends `request` (§17.1.3)."""
    branch = request.top_via.branch
    if not is_rfc3261_branch(branch):
        raise ValueError(f"a client transaction needs a {MAGIC_COOKIE} branch, got {branch!r}")
    assert branch is not None
    return (branch.lower(), request.method)


def response_key(response: Response) -> Key | None:
    """The key of the client transaction a response belongs to (§17.1.3), None without branch."""
    branch = response.top_via.branch
    if branch is None:
        return None
    return (branch.lower(), response.cseq.method)


def server_key(request: Request) -> Key:
    """The key of the server transaction `request` belongs to (§17.2.3)."""
    via = request.top_via
    method = request.method
    key = cookie_server_key(via, method)
    if key is not None:
        return key
    return _legacy_key(request, method, request.to_addr.tag, via)


def cookie_server_key(top_via: Via, method: str) -> Key | None:
    """`server_key` of a request from an RFC 3261 client, from its top Via and method alone;
    None for a branch without the magic cookie."""
    branch = top_via.branch
    if branch is None or branch[:7].lower() != _COOKIE:
        return None
    if method == "ACK":
        method = "INVITE"
    return (branch.lower(), top_via.host.lower(), top_via.port, method)


def cancel_target_key(cancel: Request) -> Key:
    """The key of the INVITE server transaction a CANCEL cancels (§9.2): the CANCEL's own key
    computed with the method INVITE. The CANCEL carries the INVITE's Request-URI, To, From,
    Call-ID, CSeq number and top Via (§9.1), so the fallback works the same way."""
    via = cancel.top_via
    branch = via.branch
    if branch is not None and branch[:7].lower() == _COOKIE:
        return (branch.lower(), via.host.lower(), via.port, "INVITE")
    return _legacy_key(cancel, "INVITE", cancel.to_addr.tag, via)


def legacy_ack_key(invite: Request, to_tag: str | None) -> Key | None:
    """For an INVITE from an RFC 2543 client that was answered with To tag `to_tag`: the key
    its ACK will carry (§17.2.3). None when the INVITE has a cookie branch (no second key)."""
    via = invite.top_via
    if is_rfc3261_branch(via.branch):
        return None
    return _legacy_key(invite, "ACK", to_tag, via)


def _legacy_key(request: Request, method: str, to_tag: str | None, via: Via) -> Key:
    return (
        "",
        request.request_uri,  # compared by the rules of §19.1.4
        to_tag,
        request.from_addr.tag,
        request.call_id,
        request.cseq.number,
        method,
        (via.transport, via.host.lower(), via.port, tuple(sorted(via.params.items()))),
    )
