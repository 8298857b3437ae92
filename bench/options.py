"""What a benchmark run was asked for: the command line, as one value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "bench" / "results"


def shown(path: Path) -> str:
    """A path as the committed results name it: relative to the repository when inside it, so
    they say nothing of the machine they were made on."""
    try:
        return str(path.resolve().relative_to(REPOSITORY))
    except ValueError:
        return str(path)


@dataclass
class Options:
    quick: bool = False
    seconds: float = 20.0  # load per step
    settle: float = 5.0  # pause after each step
    # CPU measured after each step: a SIP server's transactions wait out 64*T1 (32 s) after
    # a call or registration ends, and ending them is work the step caused
    tail: float = 35.0
    rates: list[float] | None = None  # None: doubling from start_rate
    start_rate: float = 100.0
    max_rate: float = 40_000.0
    refine: int = 2  # steps halving the gap between the last pass and the first failure
    lines: int = 10_000
    bindings: int = 100_000
    kamailio: bool = True
    caller_auth: bool = False
    overload: float = 2.0  # a step at this many times the softswitch's best rate; 0: none
    flame: bool = False
    flame_seconds: float = 20.0
    routing_calls: int = 200_000
    database_url: str | None = None
    workdir: Path = field(default_factory=lambda: RESULTS / "tmp")
    results: Path = RESULTS
    stamp: str = ""

    @classmethod
    def quick_run(cls, **overrides: Any) -> Options:
        values: dict[str, Any] = {
            "quick": True,
            "seconds": 4.0,
            "settle": 2.0,
            "tail": 0.0,
            "bindings": 20_000,
            "routing_calls": 50_000,
            "flame_seconds": 10.0,
            "refine": 1,
        }
        values.update(overrides)
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["workdir"] = shown(self.workdir)
        data["results"] = shown(self.results)
        data.pop("database_url")
        return data
