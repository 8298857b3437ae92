"""The registrar (RFC 3261 §10.3) and the location service it keeps."""

from .location import LocationService, peer_of
from .registrar import Registrar, RegistrarPolicy

__all__ = ["LocationService", "Registrar", "RegistrarPolicy", "peer_of"]
