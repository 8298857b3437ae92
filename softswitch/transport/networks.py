"""Source networks trusted to say which line a request comes from: a managed access network
where the access equipment fixes each phone's address, so nobody outside can send from it."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

__all__ = ["SourceNetworks", "parse_network"]

MAX_REMEMBERED = 65_536  # source addresses whose answer is kept: a bound, peers choose them


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """`10.20.0.0/16`, `2001:db8::/48` or one address. Raises ValueError, also for a network
    written with host bits (`10.20.0.5/16`), which is more likely a slip than the intent."""
    return ip_network(text.strip(), strict=True)


class SourceNetworks:
    """A set of networks, asked about source addresses as the transport writes them."""

    __slots__ = ("_known", "_networks")

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self._networks = tuple(parse_network(text) for text in networks)
        self._known: dict[str, bool] = {}  # answers by address text: parsing one costs µs

    def __bool__(self) -> bool:
        return bool(self._networks)

    def __contains__(self, host: object) -> bool:
        if not self._networks or not isinstance(host, str):
            return False
        known = self._known.get(host)
        if known is None:
            known = self._look_up(host)
            if len(self._known) < MAX_REMEMBERED:
                self._known[host] = known
        return known

    def _look_up(self, host: str) -> bool:
        try:
            address = ip_address(host.strip("[]"))
        except ValueError:
            return False  # a host name: never a packet's source
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # an IPv4 peer on a dual-stack socket
        return any(address in network for network in self._networks)

    def __repr__(self) -> str:
        return f"SourceNetworks({[str(network) for network in self._networks]})"
