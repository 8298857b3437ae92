"""The wheel `pip install .` builds holds everything the softswitch reads at run time besides
its modules: the console page, the example dialplans and the migrations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from softswitch.compiled import SUFFIX

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_the_wheel_holds_the_console_dialplans_and_migrations(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source)
    skip = shutil.ignore_patterns(f"*{SUFFIX}", "__pycache__")
    for folder in ("softswitch", "dialplans", "migrations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip, symlinks=True)
    # as Python: what is checked is what the wheel holds besides the modules
    env = {**os.environ, "SOFTSWITCH_PURE_PYTHON": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("softswitch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for static in (ROOT / "softswitch" / "web" / "static").iterdir():
        assert f"softswitch/web/static/{static.name}" in names
    for dialplan in (ROOT / "dialplans").glob("*.toml"):
        assert f"softswitch/dialplans/{dialplan.name}" in names
    for migration in (ROOT / "migrations").glob("*.sql"):
        assert f"softswitch/store/migrations/{migration.name}" in names
