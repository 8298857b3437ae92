"""Where a message came from, or goes to."""

from __future__ import annotations

from typing import Protocol


class Connection(Protocol):
    """A stream connection a message arrived on; responses go back on it (§18.2.2)."""

    @property
    def is_open(self) -> bool: ...

    def write(self, data: bytes) -> None: ...


class Peer:
    """A remote transport address, plus the connection for stream transports.

    `local_port` is the port of our listener that received the message, so an answer or a call
    to a phone leaves from the socket the phone's NAT binding knows.
    """

    __slots__ = ("connection", "host", "local_port", "port", "transport")

    def __init__(
        self,
        transport: str,
        host: str,
        port: int,
        connection: Connection | None = None,
        local_port: int = 0,
    ) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        self.connection = connection
        self.local_port = local_port

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"

    def __repr__(self) -> str:
        return f"{self.transport}:{format_host_port(self.host, self.port)}"


def format_host(host: str) -> str:
    """An IPv6 address in brackets, as it stands in a URI or a Via."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def format_host_port(host: str, port: int) -> str:
    return f"{format_host(host)}:{port}"
