"""The registrar (RFC 3261 §10.3), the location service it keeps and the line credentials it
checks."""

from .credentials import LineCredentials, pack_ha1s
from .location import LocationService, peer_of
from .registrar import Registrar, RegistrarPolicy, register_error

__all__ = [
    "LineCredentials",
    "LocationService",
    "Registrar",
    "RegistrarPolicy",
    "pack_ha1s",
    "peer_of",
    "register_error",
]
