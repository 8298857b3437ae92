"""Which source addresses a `trusted_networks` setting covers, and how a bad one is refused."""

from __future__ import annotations

import pytest

from softswitch.config import ConfigError, load_settings
from softswitch.transport.networks import SourceNetworks


def test_addresses_inside_and_outside() -> None:
    networks = SourceNetworks(["10.20.0.0/16", "2001:db8::/48", "192.0.2.7"])
    assert "10.20.255.1" in networks
    assert "10.21.0.1" not in networks
    assert "192.0.2.7" in networks and "192.0.2.8" not in networks
    assert "2001:db8:0:1::5" in networks and "[2001:db8::9]" in networks
    assert "2001:db9::1" not in networks
    assert "::ffff:10.20.1.1" in networks  # an IPv4 phone seen on a dual-stack socket
    assert "phone.example" not in networks  # a name is never a packet's source


def test_none_trusted_by_default() -> None:
    networks = SourceNetworks()
    assert not networks
    assert "127.0.0.1" not in networks


def test_the_setting_lists_networks() -> None:
    settings = load_settings(trusted_networks=" 10.20.0.0/16 , ::1 ")
    assert settings.trusted_network_list == ("10.20.0.0/16", "::1")
    assert load_settings().trusted_network_list == ()


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("10.20.0.5/16", "10.20.0.5/16 has host bits set"),
        ("10.20.0.0/16, county", "'county' does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_a_bad_network_is_a_one_line_error(value: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(trusted_networks=value)
    message = str(raised.value)
    assert "trusted_networks" in message and complaint in message
    assert "\n" not in message
