"""Which stopped nodes a node stands in for when it starts (their held callers)."""

from __future__ import annotations

from softswitch.recovery import replaced_nodes


def test_a_node_run_alone_stands_in_for_its_workers() -> None:
    replaces = replaced_nodes("ashford")
    assert [replaces(n) for n in ("ashford-1", "ashford-2", "ashford-12")] == [True] * 3
    for other in ("ashford", "ashford-", "ashford-x", "ashford-2-1", "birchwood-1", "ashfor-1"):
        assert not replaces(other), other


def test_worker_one_stands_in_for_the_node_run_alone_and_the_workers_above_the_count() -> None:
    replaces = replaced_nodes("ashford-1", (1, 2))
    assert replaces("ashford") and replaces("ashford-3") and replaces("ashford-10")
    for other in ("ashford-1", "ashford-2", "ashford-0x", "ashford-", "birchwood", "ashford-2-9"):
        assert not replaces(other), other


def test_the_other_workers_stand_in_for_nobody() -> None:
    replaces = replaced_nodes("ashford-2", (2, 2))
    assert not any(replaces(n) for n in ("ashford", "ashford-3", "ashford-1"))


def test_a_node_name_with_a_dash_of_its_own() -> None:
    replaces = replaced_nodes("cedar-falls-1", (1, 1))
    assert replaces("cedar-falls") and replaces("cedar-falls-2")
    assert not replaces("cedar") and not replaces("cedar-falls-1")


def test_the_nodes_named_in_the_take_over_setting() -> None:
    alone = replaced_nodes("ashford", named={"birchwood", "cedar"})
    assert alone("birchwood") and alone("cedar") and alone("ashford-2")
    assert not alone("dunmore") and not alone("birchwood-1")
    first = replaced_nodes("ashford-1", (1, 2), named={"birchwood"})
    assert first("birchwood") and first("ashford")
    assert not replaced_nodes("ashford-2", (2, 2), named={"birchwood"})("birchwood")
