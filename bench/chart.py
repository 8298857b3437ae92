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
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, (name, target) in enumerate(targets.items()):
        colour = colours[index % len(colours)]
        steps = sorted(target["steps"], key=lambda s: s["offered"])
        rates = [s["offered"] for s in steps]
        per_call = [s["server_cpu_us_per_call"] for s in steps]
        cpu.plot(rates, per_call, marker="o", color=colour, label=name)
        for key, style in (("p50", "-"), ("p99", ":")):
            values = [s["latency_180"][key] for s in steps]
            latency.plot(
                rates, values, marker="o", linestyle=style, color=colour, label=f"{name} {key}"
            )
        failed = [s for s in steps if not s["passed"]]
        cpu.scatter(
            [s["offered"] for s in failed],
            [s["server_cpu_us_per_call"] for s in failed],
            marker="x",
            s=80,
            color="black",
            zorder=3,
        )
    cpu.set(xlabel="offered calls/s", ylabel="server CPU µs per call", title="CPU per call")
    latency.set(xlabel="offered calls/s", ylabel="ms", title="INVITE -> 180, p50 and p99")
    for axes in (cpu, latency):
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=7)
    figure.suptitle("failed steps marked x")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None
