"""The bench's softswitch ÷ reference figures: each reference against the softswitch target
that does the same work."""

from __future__ import annotations

from typing import Any

from bench.calls import ratios


def target(best: float, cpu: float, rates: tuple[float, ...]) -> dict[str, Any]:
    steps = [
        {"offered": rate, "passed": True, "server_cpu_us_per_call": cpu, "memory_bytes": 1000}
        for rate in rates
    ]
    return {"best": best, "steps": steps}


def test_each_reference_is_compared_with_its_pair() -> None:
    targets = {
        "softswitch": target(1400, 660, (800, 1400)),
        "softswitch-trusted": target(2800, 300, (800, 2800)),
        "kamailio-registrar": target(19200, 50, (800, 19200)),
        "kamailio-registrar-auth": target(11200, 100, (800, 11200)),
    }
    found = ratios(
        targets,
        {"kamailio-registrar": "softswitch-trusted", "kamailio-registrar-auth": "softswitch"},
    )
    assert set(found) == {"kamailio-registrar", "kamailio-registrar-auth"}
    plain, auth = found["kamailio-registrar"], found["kamailio-registrar-auth"]
    assert plain["softswitch"] == "softswitch-trusted" and auth["softswitch"] == "softswitch"
    assert plain["best_rate"] == round(2800 / 19200, 3) and plain["cpu_per_call"] == 6.0
    assert auth["best_rate"] == 0.125 and auth["cpu_per_call"] == 6.6
    assert plain["at_rate"] == auth["at_rate"] == 800


def test_without_pairs_every_reference_faces_the_softswitch() -> None:
    targets = {"softswitch": target(700, 1300, (700,)), "kamailio": target(400, 290, (400,))}
    assert ratios(targets)["kamailio"]["softswitch"] == "softswitch"
    assert "at_rate" not in ratios(targets)["kamailio"]  # no rate both passed


def test_the_cpu_outside_the_kernel_is_compared_when_both_have_it() -> None:
    ours, theirs = target(1000, 700, (1000,)), target(1000, 200, (1000,))
    ours["steps"][0]["server_kernel_us_per_call"] = 100
    theirs["steps"][0]["server_kernel_us_per_call"] = 80
    found = ratios({"softswitch": ours, "kamailio": theirs})["kamailio"]
    assert found["cpu_per_call"] == 3.5
    assert found["user_cpu_per_call"] == 5.0  # (700 - 100) / (200 - 80)
    del theirs["steps"][0]["server_kernel_us_per_call"]  # a reference run before it was kept
    assert ratios({"softswitch": ours, "kamailio": theirs})["kamailio"]["user_cpu_per_call"] is None
