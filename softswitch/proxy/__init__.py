"""The stateful record-routing proxy of RFC 3261 §16."""

from .context import TRUNK_FAILOVER, Target
from .core import Admission, CallRouter, ProxyCore, Routing, new_tag
from .local import LocalAddress
from .observer import CallObserver, NoObserver

__all__ = [
    "TRUNK_FAILOVER",
    "Admission",
    "CallObserver",
    "CallRouter",
    "LocalAddress",
    "NoObserver",
    "ProxyCore",
    "Routing",
    "Target",
    "new_tag",
]
