"""Rows of the store as plain frozen values (but for the call record, made on the signaling
path).

Every timestamp is a float of seconds since the Unix epoch (what `time.time()` returns), so the
hot path compares numbers and never builds datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ExchangeMode = Literal["automated", "manual"]
TRANSPORTS = frozenset({"udp", "tcp", "tls", "sctp", "ws", "wss"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """A county exchange, served here (no trunks) or reached over SIP trunks."""

    code: str
    name: str
    prefix: str
    mode: ExchangeMode = "automated"
    trunk_uris: tuple[str, ...] = ()
    created_at: float | None = None
    # digest credentials the peer exchange may authenticate its calls with
    trunk_username: str | None = None
    trunk_ha1_md5: str | None = field(default=None, repr=False)
    trunk_ha1_sha256: str | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        """True when this softswitch serves the exchange itself."""
        return not self.trunk_uris


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """A subscriber number. The HA1s are `None` for a line without SIP credentials."""

    number: str
    exchange_code: str
    display_name: str | None = None
    line_class: str = "residential"
    jack_label: str | None = None
    ha1_md5: str | None = field(default=None, repr=False)
    ha1_sha256: str | None = field(default=None, repr=False)
    created_at: float | None = None
    updated_at: float | None = None

    @property
    def has_credentials(self) -> bool:
        return self.ha1_md5 is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Binding:
    """One registered contact of a line (a row of `bindings`).

    `expires_at` is absolute (epoch seconds). `updated_at` is set by the database when the row
    is written; it is `None` on a binding that has not been read back.
    """

    line_number: str
    contact: str
    expires_at: float
    call_id: str
    cseq: int
    source_transport: str
    source_host: str
    source_port: int
    local_port: int
    node: str
    q: float = 1.0
    instance_id: str | None = None
    reg_id: int | None = None
    user_agent: str | None = None
    path: tuple[str, ...] = ()
    updated_at: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.line_number, self.contact)

    def expires_in(self, now: float) -> float:
        return self.expires_at - now


@dataclass(frozen=True, slots=True, kw_only=True)
class DialplanVersion:
    """One applied dialplan (a row of `dialplan_versions`), without its text."""

    version: int
    created_at: float
    comment: str | None
    checksum: str
    files: tuple[str, ...]
    active: bool = False


Disposition = Literal[
    "answered",
    "busy",
    "no answer",
    "rejected",
    "failed",
    "cancelled",
    "abandoned in queue",
    "connected by operator",
]
DISPOSITIONS: tuple[Disposition, ...] = (
    "answered",
    "busy",
    "no answer",
    "rejected",
    "failed",
    "cancelled",
    "abandoned in queue",
    "connected by operator",
)


# Not frozen: the proxy makes one for every call, and a frozen dataclass sets each of these 19
# fields through object.__setattr__ (5.3 µs a record, against 0.8 µs).
@dataclass(slots=True, kw_only=True)
class CallRecord:
    """One call attempt (a row of `cdrs`). `id` is `None` until the row is written.

    `caller` is a line number or `trunk:CODE`; `dialed` the digits as dialed and `number` the
    number after normalization and rewrites; `rule` the dialplan rule that decided and `route`
    where it sent the call. `ended_at` is `None` for an answered call whose end was not seen.
    """

    call_id: str
    caller: str
    dialed: str
    number: str
    route: str
    started_at: float
    disposition: Disposition
    node: str
    rule: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    status: int | None = None
    reason: str | None = None
    note: str | None = None
    ended_by: str | None = None
    queue_wait_seconds: float | None = None  # a switchboard call: until an operator answered
    operator_note: str | None = None  # typed by an operator in the console (`cdr_notes`)
    note_by: str | None = None  # that operator's login
    id: int | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Seconds from answer to end, for an answered call whose end was seen."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return max(0.0, self.ended_at - self.answered_at)
