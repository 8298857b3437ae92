"""Line credentials kept as raw digests, and the pools of values rows share."""

from __future__ import annotations

from softswitch.registrar import LineCredentials, pack_ha1s
from softswitch.sip.digest import compute_ha1
from softswitch.store import SharedValues

MD5 = compute_ha1("5551001", "county", "secret", "MD5")
SHA256 = compute_ha1("5551001", "county", "secret", "SHA-256")


def test_lookup_gives_the_hex_ha1_of_each_algorithm() -> None:
    credentials = LineCredentials()
    credentials.load({"5551001": pack_ha1s(MD5, SHA256)})
    assert credentials.lookup("5551001", "MD5") == MD5
    assert credentials.lookup("5551001", "SHA-256") == SHA256
    assert credentials.lookup("5551002", "MD5") is None
    assert "5551001" in credentials and len(credentials) == 1


def test_set_and_take_away() -> None:
    credentials = LineCredentials()
    credentials.set("5551001", MD5, SHA256)
    assert credentials.lookup("5551001", "SHA-256") == SHA256
    credentials.set("5551001", None, None)
    assert "5551001" not in credentials
    credentials.set("5551001", MD5, SHA256)
    credentials.discard("5551001")
    credentials.discard("5551001")
    assert credentials.lookup("5551001", "MD5") is None


def test_packed_digests_are_small() -> None:
    assert len(pack_ha1s(MD5, SHA256)) == 16 + 32


def test_shared_values_give_one_object_per_value() -> None:
    shared: SharedValues[str] = SharedValues(limit=2)
    first = "".join(["192.0.2.", "1"])
    again = "".join(["192.0.2.", "1"])
    assert first is not again
    assert shared(first) is first
    assert shared(again) is first
    shared("b")
    third = "".join(["c", "d"])
    assert shared(third) is third  # over the limit: kept as given, not pooled
    assert len(shared) == 2
