"""The store: PostgreSQL access (asyncpg), migrations and the embedded server.

This is the only package that talks to PostgreSQL; everything above it uses `Store`.
"""

from __future__ import annotations

from .embedded import EmbeddedDatabaseError, start_embedded
from .errors import (
    DatabaseUnavailableError,
    DuplicateExchangeError,
    DuplicateLineError,
    DuplicatePrefixError,
    InvalidValueError,
    MigrationError,
    StoreClosedError,
    StoreError,
    UnknownExchangeError,
    UnknownLineError,
)
from .migrate import Migration, apply_migrations, discover_migrations
from .models import Binding, Exchange, ExchangeMode, Line
from .store import Store, redact_url
from .writer import WriterStats

__all__ = [
    "Binding",
    "DatabaseUnavailableError",
    "DuplicateExchangeError",
    "DuplicateLineError",
    "DuplicatePrefixError",
    "EmbeddedDatabaseError",
    "Exchange",
    "ExchangeMode",
    "InvalidValueError",
    "Line",
    "Migration",
    "MigrationError",
    "Store",
    "StoreClosedError",
    "StoreError",
    "UnknownExchangeError",
    "UnknownLineError",
    "WriterStats",
    "apply_migrations",
    "discover_migrations",
    "redact_url",
    "start_embedded",
]
