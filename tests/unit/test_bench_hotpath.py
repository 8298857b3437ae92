"""The hot-path benchmark drives whole calls through the real endpoint and proxy (it checks
every relay itself) and reports every kind of message."""

from __future__ import annotations

import json

import pytest

from bench import hotpath


def test_the_hot_path_benchmark_relays_every_message_of_its_calls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hotpath.main(["--calls", "20", "--rounds", "1"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["calls"] == 20
    assert set(result["us_per_message"]) == set(hotpath.KINDS)
    assert all(value > 0 for value in result["us_per_message"].values())
    assert result["us_per_call"] == pytest.approx(sum(result["us_per_message"].values()), abs=0.5)
    # a call's four transactions, its messages and the proxy's context: some KB, not bytes
    assert 2_000 < result["state_bytes_per_call"] < 50_000
    assert result["us_ending_per_call"] > 0  # and every call was ended (it checks)


def test_with_the_caches_made_cold_every_message_is_still_relayed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hotpath.main(["--calls", "5", "--rounds", "1", "--evict", "0.25"])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["evict_mb"] == 0.25
    assert set(result["us_per_message"]) == set(hotpath.KINDS)
