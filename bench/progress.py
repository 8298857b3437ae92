"""One line per step on stderr while a benchmark runs."""

from __future__ import annotations

import sys

from .steps import Step


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def step_line(step: Step, unit: str = "calls") -> str:
    per_call = step.server_cpu_us_per_call
    p50 = step.latency_180.p50 if step.latency_180.count else step.latency_100.p50
    verdict = "pass" if step.passed else "FAIL"
    return (
        f"  {step.target:<24} {step.offered:>7g}/s offered {step.achieved:>8.1f}/s achieved  "
        f"{step.successful} ok {step.failed} failed {step.unfinished} unfinished  "
        f"retrans {step.retransmissions}  cpu {step.server_load:4.0%}"
        f" {per_call or 0:6.1f} µs/{unit[:-1]}  sipp+db {step.load_side_load:4.0%}"
        f"  drops {step.udp_drops}  others {step.others_load:4.0%}"
        + (f"  p50 {p50:.2f} ms" if p50 is not None else "")
        + f"  {verdict}"
        + (f"  ({'; '.join(step.notes)})" if step.notes else "")
    )
