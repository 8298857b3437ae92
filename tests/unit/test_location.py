"""LocationService: bindings by line and by contact, q order, refresh, removal and expiry."""

from __future__ import annotations

import pytest

from softswitch.registrar import LocationService
from softswitch.store import Binding

NOW = 1_000_000.0


def binding(line: str, contact: str, expires_at: float = NOW + 60, q: float = 1.0) -> Binding:
    return Binding(
        line_number=line,
        contact=contact,
        expires_at=expires_at,
        call_id=f"{contact}-call",
        cseq=1,
        source_transport="udp",
        source_host="192.0.2.1",
        source_port=5062,
        local_port=5060,
        node="node-a",
        q=q,
    )


@pytest.fixture
def location() -> LocationService:
    return LocationService()


def test_one_binding_per_line(location: LocationService) -> None:
    desk = binding("5551001", "sip:desk@192.0.2.1")
    location.load([desk, binding("5551002", "sip:hall@192.0.2.2")])
    assert location.bindings("5551001") == [desk]
    assert location.bindings("5551001", NOW) == [desk]
    assert location.bindings("5551001", NOW + 60) == []  # expired, not yet swept
    assert location.bindings("5559999") == []
    assert location.find_contact("sip:desk@192.0.2.1") is desk
    assert len(location) == 2
    assert location.lines() == ["5551001", "5551002"]


def test_several_bindings_highest_q_first(location: LocationService) -> None:
    low = binding("5551001", "sip:low@192.0.2.1", q=0.3)
    high = binding("5551001", "sip:high@192.0.2.1", q=0.9)
    also_low = binding("5551001", "sip:also-low@192.0.2.1", q=0.3)
    location.apply("5551001", [low, high, also_low], [])
    assert location.bindings("5551001", NOW) == [high, low, also_low]  # equal q: in order
    assert len(location) == 3


def test_refresh_replaces_the_binding_in_its_place(location: LocationService) -> None:
    first = binding("5551001", "sip:a@192.0.2.1")
    second = binding("5551001", "sip:b@192.0.2.1")
    location.apply("5551001", [first, second], [])
    refreshed = binding("5551001", "sip:a@192.0.2.1", expires_at=NOW + 3600)
    location.apply("5551001", [refreshed], [])
    assert location.bindings("5551001") == [refreshed, second]
    assert location.find_contact("sip:a@192.0.2.1") is refreshed
    assert len(location) == 2
    # the entry queued for the first registration is stale: nothing expires with it
    assert location.expire(NOW + 60) == [second]
    assert location.bindings("5551001") == [refreshed]


def test_removals_and_an_emptied_line(location: LocationService) -> None:
    a = binding("5551001", "sip:a@192.0.2.1")
    b = binding("5551001", "sip:b@192.0.2.1")
    other = binding("5551002", "sip:c@192.0.2.2")
    location.load([a, b, other])
    location.apply("5551001", [], ["sip:a@192.0.2.1", "sip:a@192.0.2.1", "sip:nowhere"])
    assert location.bindings("5551001") == [b]
    assert location.find_contact("sip:a@192.0.2.1") is None
    location.apply("5551001", [], ["sip:b@192.0.2.1"])
    assert location.bindings("5551001") == []
    assert location.lines() == ["5551002"]
    assert location.expire(NOW + 60) == [other]  # the removed ones are not returned again
    assert len(location) == 0


def test_a_line_emptied_and_registered_at_once_keeps_its_place(
    location: LocationService,
) -> None:
    location.load([binding("5551001", "sip:old@192.0.2.1"), binding("5551002", "sip:x")])
    new = binding("5551001", "sip:new@192.0.2.1")
    location.apply("5551001", [new], ["sip:old@192.0.2.1"])
    assert location.bindings("5551001") == [new]
    assert location.lines() == ["5551001", "5551002"]


def test_remove_line(location: LocationService) -> None:
    location.load([binding("5551001", "sip:a"), binding("5551001", "sip:b")])
    location.remove_line("5551001")
    location.remove_line("5551001")  # gone already: nothing to do
    assert location.bindings("5551001") == []
    assert location.find_contact("sip:a") is None and location.find_contact("sip:b") is None
    assert location.expire(NOW + 3600) == []


def test_expire_to_the_instant_soonest_first(location: LocationService) -> None:
    late = binding("5551002", "sip:late", expires_at=NOW + 10.75)
    early = binding("5551003", "sip:early", expires_at=NOW + 10.25)
    earlier = binding("5551001", "sip:earlier", expires_at=NOW + 5.5)
    location.load([late, early, earlier])
    assert location.next_expiry() == NOW + 5.5
    assert location.expire(NOW + 5) == []
    assert location.expire(NOW + 10.5) == [earlier, early]  # only part of second 10 is due
    assert location.bindings("5551002") == [late]
    assert location.next_expiry() == NOW + 10.75
    assert location.expire(NOW + 10.75) == [late]
    assert location.next_expiry() is None
    assert len(location) == 0 and location.lines() == []


def test_same_expiry_in_line_then_contact_order(location: LocationService) -> None:
    at = NOW + 30
    bindings = [
        binding("5551002", "sip:b", at),
        binding("5551001", "sip:z", at),
        binding("5551001", "sip:a", at),
    ]
    location.load(bindings)
    gone = location.expire(at)
    assert [(b.line_number, b.contact) for b in gone] == [
        ("5551001", "sip:a"),
        ("5551001", "sip:z"),
        ("5551002", "sip:b"),
    ]


def test_shortened_expiry_expires_at_the_new_time(location: LocationService) -> None:
    location.load([binding("5551001", "sip:a", NOW + 3600)])
    shorter = binding("5551001", "sip:a", NOW + 60)
    location.apply("5551001", [shorter], [])
    assert location.expire(NOW + 60) == [shorter]
    assert location.expire(NOW + 3600) == []


def test_a_line_written_by_another_node_is_replaced_whole(location: LocationService) -> None:
    location.apply("5551001", [binding("5551001", "sip:a@h1"), binding("5551001", "sip:b@h2")], [])
    location.apply("5551002", [binding("5551002", "sip:c@h3", expires_at=NOW + 5)], [])
    moved = binding("5551001", "sip:b@h9", expires_at=NOW + 30)
    location.replace_line("5551001", [moved])
    assert location.bindings("5551001", NOW) == [moved]
    assert location.find_contact("sip:a@h1") is None and location.find_contact("sip:b@h2") is None
    location.replace_line("5551001", [])
    assert location.bindings("5551001", NOW) == [] and "5551001" not in location.lines()
    # what the replaced bindings left queued for expiry drops nothing that is live
    assert [b.contact for b in location.expire(NOW + 60)] == ["sip:c@h3"]


def test_everything_read_again(location: LocationService) -> None:
    location.apply("5551001", [binding("5551001", "sip:a@h1", expires_at=NOW + 5)], [])
    fresh = binding("5551002", "sip:c@h3", expires_at=NOW + 30)
    location.replace_all([fresh])
    assert location.lines() == ["5551002"] and location.find_contact("sip:a@h1") is None
    assert location.expire(NOW + 10) == []
    assert location.expire(NOW + 31) == [fresh]
