"""Errors raised by the store; each message is one line, fit to show an admin."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error the store raises."""


class DatabaseUnavailableError(StoreError):
    """The database cannot be reached, or the connection broke."""


class StoreClosedError(StoreError):
    """The store was closed while the operation was pending."""


class NodeRunningError(StoreError):
    """Another process runs as this node (it holds the node's presence lock)."""

    def __init__(self, node: str) -> None:
        super().__init__(
            f"node {node} is already running (another process holds its presence lock); "
            "give this one another name (SOFTSWITCH_NODE)"
        )
        self.node = node


class MigrationError(StoreError):
    """A migration file is malformed or failed to apply."""


class InvalidValueError(StoreError, ValueError):
    """A value that the schema does not accept (a bad code, number, URI, ...)."""


class DuplicateExchangeError(StoreError):
    def __init__(self, code: str) -> None:
        super().__init__(f"exchange {code} already exists")
        self.code = code


class DuplicatePrefixError(DuplicateExchangeError):
    def __init__(self, code: str, prefix: str) -> None:
        StoreError.__init__(self, f"prefix {prefix} is already used by another exchange")
        self.code = code
        self.prefix = prefix


class UnknownExchangeError(StoreError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no exchange {code}")
        self.code = code


class DuplicateLineError(StoreError):
    def __init__(self, number: str) -> None:
        super().__init__(f"line {number} already exists")
        self.number = number


class UnknownLineError(StoreError):
    def __init__(self, number: str) -> None:
        super().__init__(f"no line {number}")
        self.number = number


class UnknownDialplanVersionError(StoreError):
    def __init__(self, version: int) -> None:
        super().__init__(f"no dialplan version {version}")
        self.version = version


class DuplicateOperatorError(StoreError):
    def __init__(self, login: str) -> None:
        super().__init__(f"operator {login} already exists")
        self.login = login


class UnknownOperatorError(StoreError):
    def __init__(self, login: str) -> None:
        super().__init__(f"no operator {login}")
        self.login = login


class LineInUseError(StoreError):
    def __init__(self, number: str, by: str) -> None:
        super().__init__(f"line {number} is the phone of {by}; remove or move them first")
        self.number = number
