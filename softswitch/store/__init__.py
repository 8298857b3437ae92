"""The store: PostgreSQL access (asyncpg), migrations and the embedded server.

This is the only package that talks to PostgreSQL; everything above it uses `Store`.
"""

from __future__ import annotations

from .cdrs import CdrWriterStats
from .embedded import EmbeddedDatabaseError, start_embedded
from .errors import (
    DatabaseUnavailableError,
    DuplicateExchangeError,
    DuplicateLineError,
    DuplicateOperatorError,
    DuplicatePrefixError,
    InvalidValueError,
    LineInUseError,
    MigrationError,
    NodeRunningError,
    StoreClosedError,
    StoreError,
    UnknownDialplanVersionError,
    UnknownExchangeError,
    UnknownLineError,
    UnknownOperatorError,
)
from .listener import binding_notice
from .migrate import Migration, apply_migrations, discover_migrations
from .models import (
    DISPOSITIONS,
    Binding,
    CallRecord,
    DialplanVersion,
    Disposition,
    Exchange,
    ExchangeMode,
    Line,
)
from .operators import OperatorRow, PositionChange
from .queue_calls import (
    HeldInvite,
    HeldInviteRow,
    HeldLeg,
    QueueCallRow,
    QueueConfigRow,
    QueueStatsRow,
    Taken,
)
from .shared import SharedValues, shared_float, shared_int, shared_text
from .store import Store, redact_url
from .traffic import TrafficHour
from .writer import WriterStats

__all__ = [
    "DISPOSITIONS",
    "Binding",
    "CallRecord",
    "CdrWriterStats",
    "DatabaseUnavailableError",
    "DialplanVersion",
    "Disposition",
    "DuplicateExchangeError",
    "DuplicateLineError",
    "DuplicateOperatorError",
    "DuplicatePrefixError",
    "EmbeddedDatabaseError",
    "Exchange",
    "ExchangeMode",
    "HeldInvite",
    "HeldInviteRow",
    "HeldLeg",
    "InvalidValueError",
    "Line",
    "LineInUseError",
    "Migration",
    "MigrationError",
    "NodeRunningError",
    "OperatorRow",
    "PositionChange",
    "QueueCallRow",
    "QueueConfigRow",
    "QueueStatsRow",
    "SharedValues",
    "Store",
    "StoreClosedError",
    "StoreError",
    "Taken",
    "TrafficHour",
    "UnknownDialplanVersionError",
    "UnknownExchangeError",
    "UnknownLineError",
    "UnknownOperatorError",
    "WriterStats",
    "apply_migrations",
    "binding_notice",
    "discover_migrations",
    "redact_url",
    "shared_float",
    "shared_int",
    "shared_text",
    "start_embedded",
]
