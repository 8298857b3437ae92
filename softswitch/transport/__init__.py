"""Sockets: UDP and TCP listeners, connection reuse, and the endpoint that drives transactions."""

from .layer import TransportLayer
from .peer import Peer, format_host, format_host_port

__all__ = ["Peer", "TransportLayer", "format_host", "format_host_port"]
