"""The softswitch process: settings in, sockets and database up, requests to their handlers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
import signal
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp.web import AppRunner

from .calls import CallService
from .collector import CollectorSchedule
from .config import Settings, resolve_database_url
from .demo import advertised_host, ensure_demo, local_addresses
from .dialog import QueueLegs
from .overload import SAMPLE_INTERVAL, AdmissionControl, RefusalTally, ThreadOccupancy
from .proxy import LocalAddress, ProxyCore
from .proxy.records import CallNotes, CallRecorder
from .queue import QueueService
from .recovery import (
    HeldInviteKeeper,
    QueueRecovery,
    Recovered,
    replaced_nodes,
    take_over_held_calls,
)
from .registrar import (
    LineCredentials,
    LocationService,
    Registrar,
    RegistrarPolicy,
    register_error,
)
from .routing import DialplanError, Router, load_dialplan
from .sip import Request, Response, SipError, SipURI, make_response
from .sip.digest import DigestAuthenticator
from .sip.peek import NewRequest
from .store import Binding, Line, Store, StoreError, binding_notice, redact_url
from .switchboard import ConsoleActions, Switchboard
from .transaction import Output, ServerTransaction, UnmatchedAck, branch
from .transport import Peer
from .transport.endpoint import Answer, SipEndpoint
from .transport.networks import SourceNetworks
from .web import ConsoleApp, StoreAccounts, console_port, start_console, stop_console

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, REFER, NOTIFY, UPDATE, INFO"
ACCEPT = "application/sdp"
SUPPORTED = "path, outbound"
EXPIRY_SWEEP_SECONDS = 5.0
# Retry-After of a REGISTER refused in overload: random in this range, so that phones that
# all registered at once (after a power cut) come back spread out
REGISTER_RETRY_AFTER = (30, 90)
REGISTER_ONLY = (b"REGISTER ",)  # what the endpoint's screen sees while the node is not shedding
OVERLOAD_LOG_INTERVAL = 10.0  # seconds between log lines while shedding
RELOAD_DELAY = 0.1  # seconds to gather a burst of line or exchange changes into one reload


def new_tag() -> str:
    """A To tag for our own final responses (§19.3): random, 64 bits."""
    return branch()[7:]


@dataclass(frozen=True, slots=True)
class Listening:
    host: str
    port: int


class Softswitch:
    """One node: SIP listeners, the registrar, and the database behind them."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        expiry_sweep: float = EXPIRY_SWEEP_SECONDS,
        shared_port: int | None = None,
        siblings: frozenset[int] = frozenset(),
        worker: tuple[int, int] | None = None,
    ) -> None:
        """`shared_port`, `siblings`, `worker` (its index and the count): a worker process of
        `softswitch serve --workers N` (softswitch/workers.py)."""
        self.settings = settings
        self.expiry_sweep = expiry_sweep
        self.store = store
        self.replaces = replaced_nodes(settings.node, worker, settings.take_over_nodes)
        self.taken_over: dict[str, int] = {}
        self.location = LocationService()
        self.credentials = LineCredentials()
        self.trusted = SourceNetworks(settings.trusted_network_list)
        self.authenticator = DigestAuthenticator(
            settings.realm,
            secrets.token_bytes(32),
            settings.nonce_lifetime,
            algorithms=settings.digest_algorithm_list,
            scope=settings.node,
        )
        self.registrar = Registrar(
            location=self.location,
            authenticator=self.authenticator,
            lookup_ha1=self.credentials.lookup,
            write_bindings=store.submit_bindings,
            node=settings.node,
            policy=RegistrarPolicy(
                min_expires=settings.min_expires,
                max_expires=settings.max_expires,
                default_expires=settings.default_expires,
            ),
            trusted=self.trusted,
            is_line=self._is_line,
        )
        self.endpoint = SipEndpoint(
            self._on_request,
            on_event=self._on_event,
            max_message_size=settings.max_message_size,
            tcp_idle_timeout=settings.tcp_idle_timeout,
            timers=settings.timers,
        )
        self.endpoint.screen = self._screen
        self.endpoint.screened = REGISTER_ONLY
        self.endpoint.unscreened = self.trusted
        self.proxy: ProxyCore | None = None
        self.queue_legs: QueueLegs | None = None
        self.held_keeper = HeldInviteKeeper(store, settings.node)
        self.recovered = Recovered()
        self.switchboard: Switchboard | None = None
        self.queue_service: QueueService | None = None
        self.console: AppRunner | None = None
        self.calls: CallService | None = None
        self.dialplan: Router | None = None
        self.dialplan_version: int | None = None
        self.recorder = CallRecorder(store, settings.node)
        self.listening: list[Listening] = []
        # a worker process: the port it shares with the other workers, besides its own, and
        # the other workers' own ports
        self.shared_port = shared_port
        self.siblings = siblings
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._stopped = False
        self._reloader: asyncio.Task[None] | None = None
        self._reload_wanted = False
        self.admission = AdmissionControl(settings.overload_target)
        self._occupancy: ThreadOccupancy | None = None
        self._load_timer: asyncio.TimerHandle | None = None
        self._overload_logged = 0.0
        self.refusals = RefusalTally()
        self._lines_to_read: set[str] = set()  # whose bindings another node changed
        self._binding_reader: asyncio.Task[None] | None = None

    # -- life cycle --------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        settings: Settings,
        database_url: str,
        *,
        expiry_sweep: float = EXPIRY_SWEEP_SECONDS,
        shared_port: int | None = None,
        siblings: frozenset[int] = frozenset(),
        worker: tuple[int, int] | None = None,
    ) -> Softswitch:
        store = await Store.open(database_url, node=settings.node)
        try:
            await store.migrate()
        except Exception:
            await store.close()
            raise
        return cls(
            settings,
            store,
            expiry_sweep=expiry_sweep,
            shared_port=shared_port,
            siblings=siblings,
            worker=worker,
        )

    async def start(self) -> None:
        now = time.time()
        lines = await self.store.load_routing_lines()
        # every line number held once, by the lines, the credentials and the bindings alike
        numbers = {line.number: line.number for line in lines}
        self.credentials.load(await self.store.load_ha1_digests(numbers))
        self.location.load(await self.store.load_location(now, numbers))
        del numbers
        await self.store.listen_lines(self._line_changed)
        await self.store.listen_bindings(self._binding_changed, on_resync=self._read_location)
        port = self.settings.sip_port
        for host in _hosts(self.settings.sip_host):
            port = await self.endpoint.listen(host, port)
            self.listening.append(Listening(host, port))
        if self.shared_port is not None:  # after its own: what it sends on its own goes from it
            for host in _hosts(self.settings.sip_host):
                await self.endpoint.listen(host, self.shared_port, shared=True)
                self.listening.append(Listening(host, self.shared_port))
        local = LocalAddress(
            advertised_host(self.settings),
            self.sip_port,
            (*_hosts(self.settings.sip_host), *local_addresses()),
            shared_port=self.shared_port,
        )
        self.calls = CallService(
            location=self.location,
            authenticator=self.authenticator,
            lookup_ha1=self.credentials.lookup,
            local=local,
            node=self.settings.node,
            siblings=self.siblings,
            trusted=self.trusted,
        )
        if self.siblings:  # a phone on a connection this worker holds: the others route here
            self.registrar.flow_route = local.record_route("udp")
        await self.store.listen_dialplan(self._dialplan_changed)
        await self.store.listen_exchanges(self._exchange_changed)
        await self._load_dialplan()
        await self.reload_network(lines)
        self.proxy = ProxyCore(self.endpoint, local, self.calls, observer=self.recorder)
        self.endpoint.ack_relay = self.proxy.relay_ack
        # callers held by the nodes this one ran as before, now stopped: answered below too
        self.taken_over = await take_over_held_calls(self.store, self.settings.node, self.replaces)
        self.queue_service = QueueService(self.store, self.settings.node)
        await self.queue_service.start()
        self.queue_legs = QueueLegs(
            self.endpoint,
            local.host,
            self.sip_port,
            self.calls.next_hop,
            keeper=self.held_keeper,
        )
        self.switchboard = Switchboard(
            self.queue_legs, self.location, self.queue_service, self.recorder, calls=self.calls
        )
        self.queue_legs.events = self.switchboard
        self.calls.queue_handler = self.switchboard
        # the callers a previous run of this node held: held again, or told, never left waiting
        self.recovered = await QueueRecovery(
            self.store, self.settings.node, self.queue_legs, self.switchboard, self.queue_service
        ).run()
        if self.settings.http_port is not None:
            app = ConsoleApp(
                self.queue_service,
                StoreAccounts(self.store),
                secure_cookies=self.settings.console_secure_cookies,
                actions=ConsoleActions(self.switchboard),
                directory_search=self._directory_search,
                notes=CallNotes(self.store),
            )
            self.console = await start_console(
                app, self.settings.http_host, self.settings.http_port
            )
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_expired())
        self._occupancy = ThreadOccupancy()
        self._load_timer = asyncio.get_running_loop().call_later(
            SAMPLE_INTERVAL, self._measure_load
        )

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._load_timer is not None:
            self._load_timer.cancel()
        if self._reloader is not None:
            self._reloader.cancel()
        if self._binding_reader is not None:
            self._binding_reader.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self.console is not None:
            await stop_console(self.console)
        if self.queue_legs is not None:
            told = self.queue_legs.shutdown()
            if told:
                log.info("told %d waiting callers to call again later", told)
                await asyncio.sleep(0.05)  # let the answers leave before the sockets close
        await self.held_keeper.close()  # the calls just answered are not answered again
        await self.endpoint.close()
        if self.queue_service is not None:
            await self.queue_service.close()
        await self.recorder.close()
        await self._write_refusals(self.refusals.take(time.time()))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.close()

    @property
    def sip_port(self) -> int:
        return self.listening[0].port

    @property
    def http_port(self) -> int | None:
        return console_port(self.console) if self.console is not None else None

    async def _directory_search(self, query: str) -> list[dict[str, str | None]]:
        """Lines by number, name, exchange or jack label, for the console's connect box."""
        needle = query.strip().lower()
        if not needle:
            return []
        found = []
        for line in await self.store.list_lines():
            fields = (line.number, line.display_name, line.exchange_code, line.jack_label)
            if any(needle in (field or "").lower() for field in fields):
                found.append(
                    {
                        "number": line.number,
                        "name": line.display_name,
                        "exchange": line.exchange_code,
                        "jack": line.jack_label,
                    }
                )
        return found

    # -- the network -------------------------------------------------------------------------

    async def reload_network(self, lines: Sequence[Line] | None = None) -> None:
        """Exchanges, lines and the dialplan, from the database, swapped in at once (`lines`
        when just read)."""
        assert self.calls is not None
        exchanges = await self.store.list_exchanges()
        if lines is None:
            lines = await self.store.load_routing_lines()
        self.calls.update(exchanges, lines, self.dialplan)

    async def _load_dialplan(self) -> None:
        """The active dialplan version, compiled; a plan that does not load keeps the old one."""
        active = await self.store.active_dialplan()
        if active is None:
            self.dialplan, self.dialplan_version = None, None
            return
        version, sources = active
        try:
            plan = await asyncio.to_thread(lambda: Router(load_dialplan(sources)))
        except DialplanError as err:
            log.error("dialplan version %d not loaded, keeping the running one: %s", version, err)
            return
        self.dialplan, self.dialplan_version = plan, version
        log.info("dialplan version %d in force", version)

    async def _dialplan_changed(self, version: int) -> None:
        await self._load_dialplan()
        await self.reload_network()

    async def _exchange_changed(self, code: str) -> None:
        self._reload_soon()

    async def _line_changed(self, number: str) -> None:
        """A line was added, changed or removed by another process (NOTIFY)."""
        line = await self.store.get_line(number)
        if line is None:
            self.credentials.discard(number)
            self.location.remove_line(number)
        else:
            self.credentials.set(number, line.ha1_md5, line.ha1_sha256)
        self._reload_soon()

    def _binding_changed(self, payload: str) -> None:
        """Another node wrote lines' bindings (NOTIFY "<node> <line>,<line>,..."): read them
        again. While a read is under way, the lines changed meanwhile gather for the next one."""
        writer, lines = binding_notice(payload)
        if writer == self.settings.node:
            return  # our own: the registrar has them already
        self._lines_to_read.update(lines)
        if self._binding_reader is None or self._binding_reader.done():
            self._binding_reader = asyncio.get_running_loop().create_task(self._read_bindings())

    async def _read_bindings(self) -> None:
        while self._lines_to_read:
            lines, self._lines_to_read = self._lines_to_read, set()
            try:
                bindings = await self.store.load_location_of(sorted(lines), time.time())
            except StoreError as err:
                log.warning("bindings of %d lines not read again: %s", len(lines), err)
                return  # the listener's resync reads them all once the database is back
            by_line: dict[str, list[Binding]] = {line: [] for line in lines}
            for binding in bindings:
                by_line[binding.line_number].append(binding)
            for line, held in by_line.items():
                self.location.replace_line(line, held)

    async def _read_location(self) -> None:
        """The bindings listener was reconnected: changes made meanwhile went unheard."""
        self.location.replace_all(await self.store.load_location(time.time()))

    def _reload_soon(self) -> None:
        """Coalesce a burst of changes (10,000 lines provisioned) into a few reloads: one now
        or shortly, and one more at the end if changes kept coming meanwhile."""
        self._reload_wanted = True
        if self._reloader is None or self._reloader.done():
            self._reloader = asyncio.get_running_loop().create_task(self._reload_when_quiet())

    async def _reload_when_quiet(self) -> None:
        while self._reload_wanted:
            self._reload_wanted = False
            await asyncio.sleep(RELOAD_DELAY)
            try:
                await self.reload_network()
            except Exception as err:  # a reload must not die with the database for a moment
                log.warning("could not reload exchanges and lines: %s", err)

    async def _sweep_expired(self) -> None:
        while True:
            await asyncio.sleep(self.expiry_sweep)
            now = time.time()
            gone = self.location.expire(now)
            try:
                await self.store.delete_expired_bindings(now)
            except Exception as err:  # the sweep must outlive a database outage
                log.warning("could not delete expired bindings: %s", err)
            for binding in gone:
                log.info(
                    "binding expired: line %s contact %s", binding.line_number, binding.contact
                )

    # -- overload ----------------------------------------------------------------------------

    def _measure_load(self) -> None:
        assert self._occupancy is not None
        admission = self.admission
        was_shedding, refused = admission.shedding, admission.refused
        admission.update(self._occupancy.read(), self.endpoint.transport.receive_backlog())
        now = time.monotonic()
        if admission.shedding and (
            not was_shedding or now - self._overload_logged >= OVERLOAD_LOG_INTERVAL
        ):
            self._overload_logged = now
            log.warning(
                "overload: busy %.0f%% of the time, admitting %.0f%% of new calls and "
                "registrations, %d refused so far",
                admission.occupancy * 100,
                admission.admitted * 100,
                refused,
            )
        elif was_shedding and not admission.shedding:
            log.warning("overload over: %d new requests refused in all", admission.refused)
        self.endpoint.screened = None if admission.shedding else REGISTER_ONLY
        if self.refusals.due(time.time()):
            self._spawn(self._write_refusals(self.refusals.take(time.time())))
        self._load_timer = asyncio.get_running_loop().call_later(
            SAMPLE_INTERVAL, self._measure_load
        )

    async def _write_refusals(self, interval: tuple[float, float, int, int] | None) -> None:
        """Write down what was refused in overload in `interval` (`RefusalTally.take`), for
        the traffic report: refused calls have no call record."""
        if interval is None:
            return
        try:
            await self.store.record_refusals(self.settings.node, *interval)
        except StoreError as err:
            since, until, invites, registrations = interval
            log.warning(
                "refusals from %s to %s not written (%d calls, %d registrations): %s",
                time.strftime("%H:%M:%S", time.localtime(since)),
                time.strftime("%H:%M:%S", time.localtime(until)),
                invites,
                registrations,
                err,
            )

    def _is_line(self, number: str) -> bool:
        return self.calls is not None and self.calls.directory.line(number) is not None

    def _screen(self, request: NewRequest, peer: Peer) -> Answer | None:
        """Stateless answers (§8.2.7), made from a new request's bytes without a transaction.
        The endpoint asks only about new requests without credentials, and only about
        REGISTERs unless the node sheds load.

        - In overload, a share of new calls and registrations is refused with 503 before any
          work is spent on them (the same To tag for a retransmission, its ACK ignored). What
          belongs to a call already taken (requests inside a dialog, ACK, CANCEL) and a request
          that answers a fresh challenge of ours are always served, since finishing the work
          already begun is what the shedding is for. Credentials with a nonce we did not
          issue, or issued too long ago, make a request no less new: it takes its chance
          with the rest, so made-up credentials are no way past the shedding.
        - A REGISTER without credentials gets its digest challenge, the 401 the registrar's
          check would give it (half of every registration), for about half the CPU of taking
          it with a transaction; one the full parser would refuse is taken, to get its 400,
          and one from a trusted network is taken, to be registered without credentials."""
        method = request.method
        if method != "INVITE" and method != "REGISTER":
            return None
        admission = self.admission
        if admission.shedding:
            credentials = request.credentials
            finishing = credentials and self.authenticator.answers_fresh_challenge(
                credentials, time.time()
            )
            if not finishing and not admission.admit():
                self.refusals.count(method, time.time())
                if method == "REGISTER":
                    retry_after = random.randint(*REGISTER_RETRY_AFTER)
                    return Answer(503, [("Retry-After", str(retry_after))])
                # No Retry-After on an INVITE: the exchange upstream would then send this node
                # no request at all for that long (RFC 3261 §21.5.4), not just fewer new calls.
                return Answer(503)
        if request.credentials:
            return None  # the full path checks them
        if (
            method == "REGISTER"
            and not request.requires
            and peer.host not in self.trusted
            and request.readable()
        ):
            to_tag, headers = self.registrar.challenge(request.call_id, time.time())
            return Answer(401, headers, to_tag)
        return None

    # -- requests ----------------------------------------------------------------------------

    def _on_request(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        method = request.method
        if method == "REGISTER":
            self._register(request, peer, tx)
        elif method == "OPTIONS" and self._addressed_to_us(request):
            self.endpoint.respond(
                tx,
                make_response(
                    request,
                    200,
                    to_tag=new_tag(),
                    headers=[("Allow", ALLOW), ("Accept", ACCEPT), ("Supported", SUPPORTED)],
                ),
            )
        elif self.queue_legs is not None and self.queue_legs.handle_request(request, tx):
            pass  # a request in a dialog of a queued call (BYE from the caller or the operator)
        elif self.proxy is not None:
            self.proxy.handle_request(request, peer, tx)
        else:
            self.endpoint.respond(tx, make_response(request, 503, to_tag=new_tag()))

    def _on_event(self, output: Output) -> None:
        legs = self.queue_legs
        if legs is not None:
            if type(output) is UnmatchedAck and legs.handle_ack(output.request):
                return
            if legs.handle_event(output):
                return
        if self.proxy is not None:
            self.proxy.handle_event(output)

    def _addressed_to_us(self, request: Request) -> bool:
        """A request for this node itself (an OPTIONS ping), not for a line behind it."""
        try:
            uri = request.request_uri
        except SipError:
            return True
        return not isinstance(uri, SipURI) or uri.user is None

    def _register(self, request: Request, peer: Peer, tx: ServerTransaction) -> None:
        """Answered at once when no binding changes (a challenge, a refusal, a query); else
        once the change is committed."""
        now = time.time()
        try:
            checked = self.registrar.check(request, peer, now)
        except SipError as err:
            self.endpoint.respond(tx, register_error(request, err))
            return
        if isinstance(checked, Response):
            self.endpoint.respond(tx, checked)
        else:
            self.registrar.update(
                request, peer, checked, now, functools.partial(self.endpoint.respond, tx)
            )

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("request handler failed", exc_info=task.exception())


def _hosts(value: str) -> Sequence[str]:
    return [h.strip() for h in value.split(",") if h.strip()]


def install_event_loop_policy() -> None:
    """uvloop when it is installed: the same work for less CPU."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def serve(
    settings: Settings,
    *,
    demo: bool = False,
    shared_port: int | None = None,
    siblings: frozenset[int] = frozenset(),
    worker: tuple[int, int] | None = None,
    name: str = "",
) -> None:
    """Run one node until SIGINT or SIGTERM. `shared_port`, `siblings`, `worker` and `name`:
    a worker process of `softswitch serve --workers N` (softswitch/workers.py), which says who
    it is first."""
    database_url = await asyncio.to_thread(resolve_database_url, settings)
    switch = await Softswitch.open(
        settings, database_url, shared_port=shared_port, siblings=siblings, worker=worker
    )
    collector = CollectorSchedule(lambda: len(switch.endpoint.table))
    who = f"{name}: " if name else ""
    try:
        await switch.start()
        # from here on SIGINT and SIGTERM stop the node cleanly: set before "listening" is said
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        demo_lines = await ensure_demo(switch.store, settings, switch.sip_port) if demo else []
        for listening in switch.listening:
            print(
                f"{who}listening for SIP on udp and tcp {listening.host}:{listening.port}",
                flush=True,
            )
        if switch.http_port is not None:
            print(
                f"{who}operator console on http://{settings.http_host}:{switch.http_port}/",
                flush=True,
            )
        if not name:
            print(f"database {redact_url(database_url)}", flush=True)
        collector.start()
        for line in demo_lines:
            print(line, flush=True)
        await stop.wait()
        print(f"{who}stopping", flush=True)
    finally:
        await collector.stop()
        await switch.stop()


def run(settings: Settings, demo: bool = False) -> int:
    if settings.workers > 1:
        from .workers import run_workers

        return run_workers(settings, demo=demo)
    install_event_loop_policy()
    asyncio.run(serve(settings, demo=demo))
    return 0
