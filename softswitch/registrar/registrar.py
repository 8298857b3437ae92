"""The registrar: REGISTER processing per RFC 3261 §10.3, with digest authentication.

A change is committed to PostgreSQL (the store's group commit) before the location service
sees it and before the 200 OK goes out, so an answered registration survives a restart.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate

from ..sip import (
    NameAddr,
    Request,
    Response,
    SipError,
    SipURI,
    make_response,
    parse_sip_uri,
    uri_equal,
)
from ..sip.digest import AuthOutcome, DigestAuthenticator
from ..store import Binding, StoreError, shared_float, shared_int, shared_text
from ..transport import Peer
from ..transport.networks import SourceNetworks
from .location import LocationService

log = logging.getLogger(__name__)

# Queues a change of a line's bindings; the future is done once it is committed.
WriteBindings = Callable[[str, Sequence[Binding], Sequence[str]], "asyncio.Future[None]"]
Respond = Callable[[Response], None]
LookupHa1 = Callable[[str, str], "str | None"]

# Extensions a REGISTER may Require that we support (§10.3 step 2).
SUPPORTED = ("path", "outbound")


@dataclass(frozen=True, slots=True)
class RegistrarPolicy:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 10


class Registrar:
    """Answers REGISTER requests: `check` what needs no database at once, `update` the
    bindings, committed before the 200. One instance per node."""

    def __init__(
        self,
        *,
        location: LocationService,
        authenticator: DigestAuthenticator,
        lookup_ha1: LookupHa1,
        write_bindings: WriteBindings,
        node: str,
        policy: RegistrarPolicy | None = None,
        trusted: SourceNetworks | None = None,
        is_line: Callable[[str], bool] | None = None,
    ) -> None:
        """`trusted`: source networks whose REGISTERs need no credentials, taken for the line
        in their To when `is_line` knows it."""
        self.location = location
        self.authenticator = authenticator
        self.lookup_ha1 = lookup_ha1
        self.write_bindings = write_bindings
        self.node = node
        # The Route to this node, put in front of the Path of a registration that came over a
        # connection: a sibling worker reaches the phone through the connection this one holds.
        self.flow_route: str | None = None
        self.policy = policy or RegistrarPolicy()
        self.trusted = trusted if trusted is not None else SourceNetworks()
        self.is_line = is_line
        # the lines with a write under way, and the changes that wait for it
        self._queued: dict[str, deque[tuple[Request, Peer, float, Respond]]] = {}

    def check(self, request: Request, peer: Peer, now: float) -> Response | str:
        """Steps 2 to 6 of §10.3, which need no database: the final response (a challenge,
        a refusal), or the line whose bindings `update` is to change. Raises SipError for a
        malformed request."""
        # Step 2: extensions the client requires.
        unsupported = [
            option for option in request.header_values("require") if option not in SUPPORTED
        ]
        if unsupported:
            return make_response(
                request,
                420,
                to_tag=_tag(request),
                headers=[("Unsupported", ", ".join(unsupported))],
            )
        # Steps 3 and 4: who is asking.
        authorization = request.header_values("authorization")
        if not authorization and peer.host in self.trusted:
            return self._trusted_line(request)
        auth = self.authenticator.authenticate(
            authorization or None, "REGISTER", self.lookup_ha1, now
        )
        if auth.outcome is AuthOutcome.BAD_REQUEST:
            raise SipError(f"bad Authorization: {auth.reason}")
        if not auth.accepted:
            log.debug("REGISTER from %r: %s", peer, auth.reason)
            return make_response(
                request,
                401,
                to_tag=_tag(request),
                headers=[("WWW-Authenticate", value) for value in auth.challenges],
            )
        # Step 5: the address of record; step 6: may this user change it.
        to_uri = request.to_addr.uri
        if not isinstance(to_uri, SipURI) or to_uri.user is None:
            return make_response(request, 404, "Not a line of this exchange", to_tag=_tag(request))
        line = to_uri.user
        if line != auth.username:
            return make_response(request, 403, "Not your line", to_tag=_tag(request))
        return line

    def _trusted_line(self, request: Request) -> Response | str:
        """Steps 3 to 6 for a REGISTER from a trusted network: the network vouches for its
        source, so the From is taken as who asks (step 3 allows it), and a line may register
        only itself."""
        to_uri = request.to_addr.uri
        line = to_uri.user if isinstance(to_uri, SipURI) else None
        if line is None or self.is_line is None or not self.is_line(line):
            return make_response(request, 404, "Not a line of this exchange", to_tag=_tag(request))
        from_uri = request.from_addr.uri
        if not isinstance(from_uri, SipURI) or from_uri.user != line:
            return make_response(request, 403, "Not your line", to_tag=_tag(request))
        return line

    def challenge(self, call_id: str, now: float) -> tuple[str, list[tuple[str, str]]]:
        """The To tag and header fields of the 401 `check` gives a REGISTER that has no
        credentials and no Require (§10.3 steps 2 and 3), for an answer made from its bytes."""
        values = self.authenticator.challenge(now)
        return register_tag(call_id), [("WWW-Authenticate", value) for value in values]

    def update(self, request: Request, peer: Peer, line: str, now: float, respond: Respond) -> None:
        """Steps 7 and 8: change the bindings of `line` (as `check` found it) and pass the 200
        that lists them to `respond` once the change is committed; at once when nothing is to
        be written (a query, a refusal, a malformed request's 400). A line's changes are made
        one at a time, in the order they came, each on the bindings the last one left."""
        queued = self._queued.get(line)
        if queued is not None:
            queued.append((request, peer, now, respond))
            return
        if self._start(request, peer, line, now, respond):
            self._queued[line] = deque()

    def _start(self, request: Request, peer: Peer, line: str, now: float, respond: Respond) -> bool:
        """Answer at once, or start the write and answer when it is done: True while the
        write is under way."""
        try:
            change = self._change(request, peer, line, now)
            if isinstance(change, Response):
                respond(change)
                return False
            held, upserts, removals = change
            written = self.write_bindings(held, upserts, removals)
        except SipError as err:
            respond(register_error(request, err))
            return False
        except StoreError as err:  # a change the writer refused before queueing it
            respond(self._not_saved(request, line, err))
            return False
        except Exception:  # a fault of ours: a 500 for this one, the line's next changes go on
            log.exception("REGISTER for line %s failed", line)
            respond(register_error(request, SipError("Server error", 500)))
            return False
        written.add_done_callback(
            functools.partial(self._committed, request, line, held, upserts, removals, now, respond)
        )
        return True

    def _committed(
        self,
        request: Request,
        line: str,
        held: str,
        upserts: list[Binding],
        removals: list[str],
        now: float,
        respond: Respond,
        written: asyncio.Future[None],
    ) -> None:
        """The write is done: the location service takes the change, the phone its answer.
        `line` is the line as `check` found it, `held` as the node holds it."""
        try:
            failure = written.exception() if not written.cancelled() else StoreError("cancelled")
            if failure is None:
                self.location.apply(held, upserts, removals)
                respond(self._ok(request, self.location.bindings(held, now), now))
            elif isinstance(failure, StoreError):
                respond(self._not_saved(request, held, failure))
            else:
                log.error("bindings of line %s not saved", held, exc_info=failure)
                respond(register_error(request, SipError("Bindings not saved", 500)))
        finally:
            self._next(line)

    def _next(self, line: str) -> None:
        """The line's write is done: start the changes that waited for it, up to the next
        write."""
        queued = self._queued[line]
        while queued:
            request, peer, now, respond = queued.popleft()
            if self._start(request, peer, line, now, respond):
                return
        del self._queued[line]

    def _not_saved(self, request: Request, line: str, err: StoreError) -> Response:
        log.error("bindings of line %s not saved: %s", line, err)
        return register_error(request, SipError("Bindings not saved", 500))

    def _change(
        self, request: Request, peer: Peer, line: str, now: float
    ) -> Response | tuple[str, list[Binding], list[str]]:
        """The answer when nothing is to be written, else the line's upserts and removals.
        Raises SipError for a malformed request."""
        current = self.location.bindings(line, now)
        if current:
            line = current[0].line_number  # a refresh keeps the number the node holds already
        contacts = request.contacts
        if request.is_wildcard_contact:
            # §10.3 step 6: "*" only alone and only with Expires: 0.
            if contacts or len(request.header_values("contact")) != 1 or request.expires != 0:
                raise SipError("Contact: * needs Expires: 0 and no other contact")
            return self._written(request, line, [], [b.contact for b in current], now)
        if not contacts:
            return self._ok(request, current, now)  # a query (§10.2.3)
        if len(contacts) > self.policy.max_contacts:
            return make_response(request, 403, "Too many contacts", to_tag=_tag(request))

        header_expires = request.expires
        upserts: list[Binding] = []
        removals: list[str] = []
        for contact in contacts:
            expires = self._expires(contact, header_expires)
            if 0 < expires < self.policy.min_expires:
                return make_response(
                    request,
                    423,
                    to_tag=_tag(request),
                    headers=[("Min-Expires", str(self.policy.min_expires))],
                )
            existing = _matching(current, contact)
            # Step 7: a binding from the same Call-ID only moves forward in CSeq.
            if (
                existing is not None
                and existing.call_id == request.call_id
                and request.cseq.number <= existing.cseq
            ):
                return make_response(request, 500, "Out of order CSeq", to_tag=_tag(request))
            if existing is not None and existing.contact != str(contact.uri):
                removals.append(existing.contact)  # same device, new contact address
            if expires == 0:
                if existing is not None:
                    removals.append(existing.contact)
                continue
            upserts.append(self._binding(request, peer, line, contact, expires, now))
        return self._written(request, line, upserts, removals, now)

    def _written(
        self, request: Request, line: str, upserts: list[Binding], removals: list[str], now: float
    ) -> Response | tuple[str, list[Binding], list[str]]:
        """What to write (a contact both refreshed and replaced is not removed), or the 200
        at once when that is nothing."""
        removals = [c for c in dict.fromkeys(removals) if all(b.contact != c for b in upserts)]
        if not upserts and not removals:
            return self._ok(request, self.location.bindings(line, now), now)
        return line, upserts, removals

    def _expires(self, contact: NameAddr, header_expires: int | None) -> int:
        value = contact.params.get("expires")
        if value is not None:
            if not value.isdigit():
                raise SipError(f"bad expires parameter {value!r}")
            expires = int(value)
        elif header_expires is not None:
            expires = header_expires
        else:
            expires = self.policy.default_expires
        return min(expires, self.policy.max_expires)

    def _binding(
        self, request: Request, peer: Peer, line: str, contact: NameAddr, expires: int, now: float
    ) -> Binding:
        q_text = contact.params.get("q")
        try:
            q = float(q_text) if q_text is not None else 1.0
        except ValueError as err:
            raise SipError(f"bad q value {q_text!r}") from err
        if not 0.0 <= q <= 1.0:
            raise SipError(f"q value {q_text!r} out of range")
        instance = contact.params.get("+sip.instance")
        reg_id = contact.params.get("reg-id")
        user_agent = request.header("user-agent")
        # the location service keeps the binding: values many phones share are held once
        return Binding(
            line_number=line,
            contact=str(contact.uri),
            expires_at=now + expires,
            q=shared_float(q),
            call_id=request.call_id,
            cseq=request.cseq.number,
            source_transport=shared_text(peer.transport),
            source_host=shared_text(peer.host),
            source_port=peer.port,
            local_port=shared_int(peer.local_port),
            instance_id=instance.strip('"') if instance else None,
            reg_id=int(reg_id) if reg_id and reg_id.isdigit() else None,
            user_agent=None if user_agent is None else shared_text(user_agent),
            path=self._path(request, peer),
            node=self.node,
        )

    def _path(self, request: Request, peer: Peer) -> tuple[str, ...]:
        path = tuple(request.header_values("path"))
        if peer.reliable and self.flow_route is not None:
            return (self.flow_route, *path)
        return path

    def _ok(self, request: Request, bindings: Sequence[Binding], now: float) -> Response:
        headers = [
            ("Contact", f"<{b.contact}>;expires={max(0, int(b.expires_at - now))}" + _q(b))
            for b in bindings
        ]
        headers.append(("Date", _date(int(now))))
        if request.header_values("path"):
            headers.extend(("Path", p) for p in request.header_values("path"))
        return make_response(request, 200, to_tag=_tag(request), headers=headers)


@functools.lru_cache(maxsize=4)
def _date(second: int) -> str:
    """The Date of a 200 (§20.17): written once a second, not for each registration."""
    return formatdate(second, usegmt=True)


def _q(binding: Binding) -> str:
    return "" if binding.q == 1.0 else f";q={binding.q:g}"


def _matching(bindings: Sequence[Binding], contact: NameAddr) -> Binding | None:
    """The binding this Contact refreshes: the same device (+sip.instance, RFC 5626 §6), else
    the same URI by the comparison rules of §19.1.4."""
    instance = contact.params.get("+sip.instance")
    if instance is not None:
        instance = instance.strip('"')
        reg_id = contact.params.get("reg-id")
        for binding in bindings:
            if binding.instance_id == instance and (
                reg_id is None or str(binding.reg_id) == reg_id
            ):
                return binding
    uri = contact.uri
    for binding in bindings:
        if binding.contact == str(uri):
            return binding
        if isinstance(uri, SipURI):
            try:
                if uri_equal(parse_sip_uri(binding.contact), uri):
                    return binding
            except SipError:
                continue
    return None


def register_error(request: Request, err: SipError) -> Response:
    """The answer to a REGISTER that `err` stopped (a 500 is worth another try in a while)."""
    response = make_response(
        request, err.status, err.reason if err.status != 500 else None, to_tag=_tag(request)
    )
    if err.status == 500:
        response.add_header("Retry-After", "5")
    return response


def _tag(request: Request) -> str:
    return register_tag(request.call_id)


def register_tag(call_id: str) -> str:
    """The To tag of our answers to a REGISTER: stable for its Call-ID, never random state."""
    return f"r{zlib.crc32(call_id.encode()):08x}"
