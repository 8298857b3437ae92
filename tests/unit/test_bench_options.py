"""The benchmark's recorded options and paths name the repository's folders, not the machine's."""

from __future__ import annotations

from pathlib import Path

from bench.options import REPOSITORY, RESULTS, Options, shown


def test_paths_inside_the_repository_are_recorded_relative_to_it() -> None:
    assert shown(RESULTS / "20261126-145506-flame.svg") == "bench/results/20261126-145506-flame.svg"
    recorded = Options(stamp="x").as_dict()
    assert (recorded["results"], recorded["workdir"]) == ("bench/results", "bench/results/tmp")
    assert "database_url" not in recorded


def test_paths_elsewhere_are_recorded_whole(tmp_path: Path) -> None:
    assert not tmp_path.resolve().is_relative_to(REPOSITORY)
    assert shown(tmp_path / "run.svg") == str(tmp_path / "run.svg")
