"""A PNG chart of the call steps: server CPU per call and INVITE->180 latency against the
offered rate, the softswitch beside Kamailio. Needs matplotlib; without it, says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def draw(calls: dict[str, Any], path: Path) -> str | None:
    """Write the chart; return None, or why there is none."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no chart: matplotlib is not installed (pip install matplotlib)"
    targets = calls.get("targets", {})
    if not targets:
        return "no chart: no call steps"
    figure, (cpu, latency) = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, target in targets.items():
        steps = sorted(target["steps"], key=lambda s: s["offered"])
        rates = [s["offered"] for s in steps]
        cpu.plot(rates, [s["server_cpu_us_per_call"] for s in steps], marker="o", label=name)
        for key, style in (("p50", "-"), ("p99", ":")):
            values = [s["latency_180"][key] for s in steps]
            latency.plot(rates, values, marker="o", linestyle=style, label=f"{name} {key}")
        failed = [s for s in steps if not s["passed"]]
        cpu.scatter(
            [s["offered"] for s in failed],
            [s["server_cpu_us_per_call"] for s in failed],
            marker="x",
            color="red",
            zorder=3,
        )
    cpu.set(xlabel="offered calls/s", ylabel="server CPU µs per call", title="CPU per call")
    latency.set(xlabel="offered calls/s", ylabel="ms", title="INVITE -> 180 latency", yscale="log")
    for axes in (cpu, latency):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle("failed steps marked x")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None
