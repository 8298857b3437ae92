"""The CPU a server spends after a step, on the work the step left, counts to the step; what it
uses idle does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.load import work_left
from bench.targets import Target

# busy for `busy` seconds of CPU, then a steady trickle (a tenth of a CPU) until killed
SERVER = """
import sys, time
busy = float(sys.argv[1])
started = time.process_time()
while time.process_time() - started < busy:
    pass
while True:
    tick = time.process_time()
    while time.process_time() - tick < 0.01:
        pass
    time.sleep(0.09)
"""


def test_the_work_after_a_step_counts_and_the_idle_use_does_not(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", SERVER, "1.0"])
    target = Target("server", 0, process, tmp_path / "log", None)
    try:
        left = work_left(target, 2.0)  # 1 s of work, and 2 s at a tenth of a CPU
        assert 0.7 < left < 1.2
        assert work_left(target, 1.0) < 0.1  # the trickle alone: nothing left
        assert work_left(target, 0.0) == 0.0  # no tail: nothing measured
    finally:
        process.kill()
        process.wait()
