"""The call service: what the proxy asks of the softswitch. Who may call (digest for lines, or
their source network where it is trusted; source address for peer exchanges), where a call
goes (dialplan, location service, trunks), and the next hop of a URI (a registered phone's NAT
address)."""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .proxy import TRUNK_FAILOVER, Admission, LocalAddress, Routing, Target, new_tag
from .registrar import LocationService, peer_of
from .routing import (
    Caller,
    Directory,
    ExchangeTarget,
    LineTarget,
    QueueTarget,
    RejectTarget,
    Router,
    TrunkTarget,
    load_dialplan,
)
from .sip import (
    ParseError,
    Request,
    Response,
    SipURI,
    TelURI,
    make_response,
    parse_name_addr,
    parse_uri,
    reason_phrase,
)
from .sip.digest import AuthOutcome, DigestAuthenticator
from .store import Binding, Exchange, Line
from .transaction import ServerTransaction
from .transport import Peer
from .transport.networks import SourceNetworks

log = logging.getLogger(__name__)

LookupHa1 = Callable[[str, str], "str | None"]
DEFAULT_TRUNK_TIMEOUT = 10.0
SIBLING = "node:sibling"  # the admission of a request a sibling worker relays
QUEUE_PLACEHOLDER_REASON = 'SIP ;cause=480 ;text="Operator queue not available yet"'
# The line's switchboard jack, for the board trunk of a manual exchange: the gateway in front
# of the old board shows it to the operator there. X- so that gateways such as FreeSWITCH
# hand it on as a channel variable.
JACK_LABEL_HEADER = "X-Jack-Label"


@dataclass(frozen=True, slots=True)
class ConnectTarget:
    """Where an operator's connect goes: contacts to call in order (the first, then the next
    after a failure), headers for the INVITE, or why it cannot go anywhere."""

    number: str
    targets: tuple[Target, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    error: str | None = None


def default_dialplan(exchanges: Iterable[Exchange]) -> Router:
    """With no dialplan applied: every exchange by its prefix, nothing else."""
    rules = [
        f'[[rule]]\nname = "exchange-{e.code}"\nprefix = "{e.prefix}"\n'
        f'deliver = {{ exchange = "{e.code}" }}\n'
        for e in sorted(exchanges, key=lambda e: e.prefix)
    ]
    return Router(load_dialplan({"(default).toml": "\n".join(rules)}))


class QueueHandler(Protocol):
    """The operator queue's SIP side, as the call service sees it."""

    def enqueue(
        self,
        request: Request,
        tx: ServerTransaction,
        target: QueueTarget,
        *,
        caller: str,
        number: str,
        jack_label: str | None,
    ) -> None: ...

    def cancel(self, invite_tx: ServerTransaction) -> bool: ...


class CallService:
    def __init__(
        self,
        *,
        location: LocationService,
        authenticator: DigestAuthenticator,
        lookup_ha1: LookupHa1,
        local: LocalAddress,
        trunk_timeout: float = DEFAULT_TRUNK_TIMEOUT,
        node: str | None = None,
        siblings: frozenset[int] = frozenset(),
        trusted: SourceNetworks | None = None,
    ) -> None:
        self.location = location
        # source networks whose lines call without credentials: the From names the caller
        self.trusted = trusted if trusted is not None else SourceNetworks()
        self.node = node  # this node: see `reachable`
        # the other worker processes of this machine, by the ports they send from: a call one
        # of them routes to a phone whose connection this node holds is relayed, not routed
        self.siblings = siblings
        self._ours: dict[str, bool] = {}  # Path entries, by whether they name this node
        self.authenticator = authenticator
        self.lookup_ha1 = lookup_ha1
        self.local = local
        self.trunk_timeout = trunk_timeout
        self.router = Router(load_dialplan({}))
        self.directory = Directory()
        self._lines: dict[str, Line] = {}
        self._exchanges: dict[str, Exchange] = {}
        self._trusted: dict[str, str] = {}  # source address -> exchange code
        self._trunk_users: dict[str, Exchange] = {}  # digest user of a peer exchange
        self.queue_handler: QueueHandler | None = None

    # -- the network as the database has it ----------------------------------------------------

    def update(
        self, exchanges: Sequence[Exchange], lines: Sequence[Line], router: Router | None
    ) -> None:
        """A new view of the network: swapped in at once, so a call sees one version. A line
        that did not change keeps its object from the last view, so its number stays the very
        string the credentials are keyed by rather than a second copy."""
        self._exchanges = {e.code: e for e in exchanges}
        previous = self._lines
        by_number: dict[str, Line] = {}
        for line in lines:
            same = previous.get(line.number)
            by_number[line.number] = same if same is not None and same == line else line
        self._lines = by_number
        self.directory = Directory(exchanges, by_number)  # shares the dict, not a copy
        base = router if router is not None else default_dialplan(exchanges)
        self.router = Router(base.compiled, self.directory)
        trusted: dict[str, str] = {}
        for exchange in exchanges:
            for text in exchange.trunk_uris:
                uri = _sip_uri(text)
                if uri is not None and _is_ip(uri.host):
                    trusted[uri.host.strip("[]")] = exchange.code
        self._trusted = trusted
        self._trunk_users = {e.trunk_username: e for e in exchanges if e.trunk_username}

    # -- admission -------------------------------------------------------------------------------

    def admit(self, request: Request, peer: Peer, now: float) -> Admission | Response:
        if peer.port in self.siblings and peer.transport == "udp" and self._local(peer.host):
            return Admission(SIBLING)
        trunk = self._trusted.get(peer.host)
        if trunk is not None:
            return Admission(f"trunk:{trunk}")
        if request.method in ("ACK", "CANCEL", "BYE", "PRACK"):
            return Admission("")
        credentials = request.header_values("proxy-authorization")
        if not credentials and peer.host in self.trusted:
            from_uri = request.from_addr.uri
            if isinstance(from_uri, SipURI) and from_uri.user in self._lines:
                return Admission(from_uri.user)
        auth = self.authenticator.authenticate(
            credentials or None,
            request.method,
            self._ha1,
            now,
        )
        if auth.outcome is AuthOutcome.BAD_REQUEST:
            return make_response(request, 400, "Bad Proxy-Authorization", to_tag=new_tag())
        if not auth.accepted:
            answered = bool(credentials)
            stale = any("stale=true" in c for c in auth.challenges)
            if answered and not stale:
                return make_response(request, 403, to_tag=new_tag())
            return make_response(
                request,
                407,
                to_tag=new_tag(),
                headers=[("Proxy-Authenticate", value) for value in auth.challenges],
            )
        peer_exchange = self._trunk_users.get(auth.username or "")
        if peer_exchange is not None and self.lookup_ha1(auth.username or "", "MD5") is None:
            # a peer exchange's call: its callers are its own subscribers, not our lines
            request.remove_header("proxy-authorization")
            return Admission(f"trunk:{peer_exchange.code}")
        from_uri = request.from_addr.uri
        if not isinstance(from_uri, SipURI) or from_uri.user != auth.username:
            return make_response(request, 403, "Not your line", to_tag=new_tag())
        # §22.3: credentials for our realm go no further
        request.remove_header("proxy-authorization")
        return Admission(auth.username or "")

    def _ha1(self, username: str, algorithm: str) -> str | None:
        """A line's HA1, else a peer exchange's trunk credentials."""
        ha1 = self.lookup_ha1(username, algorithm)
        if ha1 is not None:
            return ha1
        exchange = self._trunk_users.get(username)
        if exchange is None:
            return None
        return exchange.trunk_ha1_md5 if algorithm == "MD5" else exchange.trunk_ha1_sha256

    # -- routing ---------------------------------------------------------------------------------

    def locate(self, request: Request, admission: Admission, now: float) -> Routing | Response:
        if admission.caller == SIBLING:
            return self._relay(request)
        ruri = request.request_uri
        if isinstance(ruri, SipURI):
            dialed = ruri.user or ""
        elif isinstance(ruri, TelURI):
            dialed = ruri.number
        else:
            return make_response(request, 416, to_tag=new_tag())
        caller = self._caller(admission.caller)
        decision = self.router.route(caller, dialed, now)
        target = decision.target
        # a rule that delivers to a line names the number to ring (night service)
        number = target.number if isinstance(target, LineTarget) else decision.number
        rule = decision.rule.name if decision.rule is not None else "-"
        routing = Routing((), dialed=dialed, number=number, route=f"{rule}: {target.describe()}")

        def answer(status: int, reason: str | None = None, **kwargs: Any) -> Routing:
            routing.response = make_response(request, status, reason, to_tag=new_tag(), **kwargs)
            return routing

        queued = [("Reason", QUEUE_PLACEHOLDER_REASON)]
        if isinstance(target, RejectTarget):
            return answer(target.status, target.reason)
        if isinstance(target, QueueTarget):
            if self.queue_handler is None:
                return answer(480, headers=queued)
            routing.queue = target
            return routing
        if isinstance(target, TrunkTarget):
            routing.targets = self._trunk_targets(target, number)
            if not routing.targets:
                return answer(503, "No usable trunk")
        elif isinstance(target, LineTarget | ExchangeTarget):
            line = self._lines.get(number)
            if line is None:
                return answer(404, "No such line")
            exchange = self._exchanges.get(line.exchange_code)
            if exchange is not None and exchange.mode == "manual":
                if self.queue_handler is None:
                    return answer(480, headers=queued)
                routing.queue = QueueTarget(exchange.code, exchange.code, 0, number)
                return routing
            routing.targets = self._line_targets(self.reachable(number, now))
            if not routing.targets:
                return answer(480, "Not registered")
        else:
            return answer(500)
        return routing

    def _caller(self, who: str) -> Caller:
        if who.startswith("trunk:"):
            return Caller(None, who[6:], None)
        line = self._lines.get(who)
        if line is None:
            return Caller(who or None)
        return Caller(line.number, line.exchange_code, line.line_class)

    def reachable(self, line: str, now: float) -> list[Binding]:
        """A line's live bindings this node can reach, highest q first. A phone on a
        connection (TCP) that another node holds is reached through that node when the
        binding's Path leads there (`Registrar.flow_route`), and is left out otherwise: only
        that node can send on the connection, and the phone takes no new one."""
        bindings = self.location.bindings(line, now)
        node = self.node
        if node is None or all(b.node == node for b in bindings):
            return bindings
        return [b for b in bindings if b.node == node or b.source_transport == "udp" or b.path]

    def _line_targets(self, bindings: Sequence[Binding]) -> list[Target]:
        """Fork to every contact: equal q in parallel, lower q after (§16.6, RFC 3261 §16.2).
        A binding with a Path (RFC 3327) is reached through its first hop; one without, at
        the address its REGISTER came from."""
        groups = sorted({b.q for b in bindings}, reverse=True)
        targets = []
        for b in bindings:
            route = self._beyond_us(b.path)
            peer = self._first_hop(route[0]) if route else None
            targets.append(
                Target(b.contact, peer or peer_of(b), q=b.q, group=groups.index(b.q), route=route)
            )
        return targets

    def _beyond_us(self, path: tuple[str, ...]) -> tuple[str, ...]:
        """A binding's Path without this node at its head: a phone whose connection this
        node holds is reached directly."""
        if not path:
            return path
        ours = self._ours.get(path[0])
        if ours is None:
            try:
                ours = self.local.is_ours(parse_name_addr(path[0]).uri)
            except ParseError:
                ours = False
            if len(self._ours) < 64:  # the nodes' own entries: a handful
                self._ours[path[0]] = ours
        return path[1:] if ours else path

    def _first_hop(self, route: str) -> Peer | None:
        """Where a request goes whose Route set begins with `route` (§16.12)."""
        try:
            uri = parse_name_addr(route).uri
        except ParseError:
            return None
        return self.next_hop(uri) if isinstance(uri, SipURI) else None

    def _relay(self, request: Request) -> Routing | Response:
        """A call a sibling worker routed to a phone whose connection this node holds: on to
        that connection, recorded by the sibling, not here."""
        binding = self.location.find_contact(request.uri)
        if binding is None or binding.node != self.node:
            return make_response(request, 480, "Not registered here", to_tag=new_tag())
        number = binding.line_number
        return Routing(
            [Target(request.uri, peer_of(binding))],
            dialed=number,
            number=number,
            route=f"line {number}",
            recorded=False,
        )

    def _local(self, host: str) -> bool:
        return host.strip("[]").lower() in self.local.aliases

    def _trunk_targets(self, trunk: TrunkTarget, number: str) -> list[Target]:
        targets = []
        for index, text in enumerate(trunk.uris):
            uri = _sip_uri(text)
            if uri is None:
                log.warning("trunk URI %r is not a SIP URI", text)
                continue
            peer = self.next_hop(uri)
            if peer is None:
                log.warning("trunk %s: only IP addresses are supported as hosts", text)
                continue
            request_uri = uri.copy()
            request_uri.user = number
            targets.append(
                Target(
                    str(request_uri),
                    peer,
                    group=index,
                    try_timeout=trunk.timeout or self.trunk_timeout,
                    failover=TRUNK_FAILOVER,
                )
            )
        return targets

    # -- the operator's connect --------------------------------------------------------------

    def connect_target(
        self, number: str, caller: str = "", now: float | None = None
    ) -> ConnectTarget:
        """Where an operator's connect to `number` goes. The number is routed as if `caller`
        (the operator's line) had dialed it, but the operator wants the line itself: a line of
        a manual exchange goes to that exchange's board trunk with its jack label, where a
        dialed call would go to a queue."""
        now = time.time() if now is None else now
        decision = self.router.route(self._caller(caller), number, now)
        target = decision.target
        routed = target.number if isinstance(target, LineTarget) else decision.number
        line = self._lines.get(routed)
        if isinstance(target, RejectTarget):
            why = target.reason or reason_phrase(target.status)
            return ConnectTarget(routed, error=f"{number}: {why}")
        if isinstance(target, TrunkTarget):
            return self._connect_by_trunk(routed, target.uris, self._jack(line), target.timeout)
        if line is None:
            if isinstance(target, QueueTarget):
                return ConnectTarget(routed, error=f"{number} is an operator queue, not a line")
            return ConnectTarget(routed, error=f"no such line {routed}")
        exchange = self._exchanges.get(line.exchange_code)
        if exchange is not None and exchange.mode == "manual":
            if not exchange.trunk_uris:
                return ConnectTarget(routed, error=f"{exchange.name} has no board trunk")
            return self._connect_by_trunk(routed, exchange.trunk_uris, self._jack(line))
        if exchange is not None and exchange.trunk_uris:
            return self._connect_by_trunk(routed, exchange.trunk_uris)
        bindings = sorted(self.reachable(routed, now), key=lambda b: b.q, reverse=True)
        if not bindings:
            return ConnectTarget(routed, error=f"no phone registered for line {routed}")
        return ConnectTarget(routed, tuple(Target(b.contact, peer_of(b)) for b in bindings))

    def _connect_by_trunk(
        self,
        number: str,
        uris: Sequence[str],
        headers: tuple[tuple[str, str], ...] = (),
        timeout: float | None = None,
    ) -> ConnectTarget:
        targets = self._trunk_targets(TrunkTarget(tuple(uris), timeout), number)
        if not targets:
            return ConnectTarget(number, error=f"no usable trunk for {number}")
        return ConnectTarget(number, tuple(targets), headers)

    def _jack(self, line: Line | None) -> tuple[tuple[str, str], ...]:
        """The jack label header for a line on a manual board, else nothing."""
        if line is None or not line.jack_label:
            return ()
        exchange = self._exchanges.get(line.exchange_code)
        if exchange is None or exchange.mode != "manual":
            return ()
        # a label is free text from the admin: keep it on one header line
        label = " ".join(line.jack_label.split())
        return ((JACK_LABEL_HEADER, label),)

    # -- the operator queue ------------------------------------------------------------------

    def enqueue(
        self, request: Request, tx: ServerTransaction, routing: Routing, admission: Admission
    ) -> None:
        assert self.queue_handler is not None and isinstance(routing.queue, QueueTarget)
        target = routing.queue
        line = self._lines.get(target.line or routing.number)
        self.queue_handler.enqueue(
            request,
            tx,
            target,
            caller=admission.caller,
            number=routing.number,
            jack_label=line.jack_label if line is not None else None,
        )

    def cancel_queued(self, invite_tx: ServerTransaction) -> bool:
        return self.queue_handler is not None and self.queue_handler.cancel(invite_tx)

    # -- next hops -------------------------------------------------------------------------------

    def next_hop(self, uri: SipURI) -> Peer | None:
        binding = self.location.find_contact(str(uri))
        if binding is not None:
            return peer_of(binding)
        host = uri.params.get("maddr") or uri.host
        if not _is_ip(host):
            return None
        transport = uri.transport if uri.transport in ("udp", "tcp") else "udp"
        return Peer(transport, host.strip("[]"), uri.port or 5060)


@functools.lru_cache(maxsize=1024)
def _sip_uri(text: str) -> SipURI | None:
    """A trunk URI, parsed once for every call that takes the trunk: shared, so a caller that
    changes it works on a copy."""
    try:
        uri = parse_uri(text)
    except ParseError:
        return None
    return uri if isinstance(uri, SipURI) else None


@functools.lru_cache(maxsize=4096)  # the same few trunk and phone addresses, call after call
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
