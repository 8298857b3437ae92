"""The protocol layers run compiled where setup.py could build them, and a source checkout
never runs a compiled module older than its source."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import softswitch.calls
import softswitch.proxy.core
import softswitch.sip.message
import softswitch.transaction.table
from softswitch.compiled import SUFFIX, compiled_sources, stale_sources


@pytest.mark.skipif(
    bool(os.environ.get("SOFTSWITCH_PURE_PYTHON"))
    or shutil.which("cc") is None
    or not Path(sysconfig.get_paths()["include"], "Python.h").exists(),
    reason="installed without compiling (SOFTSWITCH_PURE_PYTHON, or no C compiler `cc` "
    "or Python.h)",
)
def test_the_hot_path_modules_are_compiled() -> None:
    hot_path = (
        softswitch.sip.message,
        softswitch.transaction.table,
        softswitch.proxy.core,
        softswitch.calls,
    )
    for module in hot_path:
        assert module.__file__ is not None and module.__file__.endswith(SUFFIX), module.__file__


def checkout(tmp_path: Path, *, built_after_source: bool) -> Path:
    package = tmp_path / "softswitch"
    (package / "sip").mkdir(parents=True)
    (tmp_path / "setup.py").write_text("")
    source = package / "sip" / "message.py"
    built = package / "sip" / f"message{SUFFIX}"
    source.write_text("")
    built.write_bytes(b"")
    (package / "sip" / "pure.py").write_text("")  # never compiled: not a concern
    older, newer = (source, built) if built_after_source else (built, source)
    os.utime(older, (1_000_000, 1_000_000))
    os.utime(newer, (2_000_000, 2_000_000))
    return package


def test_a_source_edited_after_compiling_is_stale(tmp_path: Path) -> None:
    package = checkout(tmp_path, built_after_source=False)
    assert stale_sources(package) == [package / "sip" / "message.py"]


def test_a_module_compiled_after_its_source_is_not_stale(tmp_path: Path) -> None:
    assert stale_sources(checkout(tmp_path, built_after_source=True)) == []


def test_an_installed_wheel_is_not_checked(tmp_path: Path) -> None:
    package = checkout(tmp_path, built_after_source=False)
    (tmp_path / "setup.py").unlink()
    assert stale_sources(package) == []


@pytest.mark.skipif(
    not compiled_sources(), reason="nothing is compiled: this suite ran the modules as Python"
)
def test_the_unit_tests_pass_on_the_modules_as_python(tmp_path: Path) -> None:
    """An install without a C compiler runs the same sources as Python: the unit tests (the
    protocol vectors among them) pass there too."""
    root = Path(__file__).resolve().parents[2]
    # a copy of the copy without the compiled modules: Python puts the working folder
    # first on its path, so the tests must run from there
    copy = tmp_path / "copy"
    skip = shutil.ignore_patterns(f"*{SUFFIX}", "__pycache__", "results")
    for folder in ("softswitch", "tests", "bench", "dialplans", "migrations"):
        shutil.copytree(root / folder, copy / folder, ignore=skip)
    shutil.copy(root / "pyproject.toml", copy)
    env = {**os.environ, "SOFTSWITCH_PURE_PYTHON": "1"}
    env.pop("PYTHONPATH", None)
    where = subprocess.run(
        [sys.executable, "-c", "import softswitch.sip.message as m; print(m.__file__)"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip() == str(copy / "softswitch" / "sip" / "message.py")
    pytest_args = ["-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "pytest")]
    run = subprocess.run(
        # nothing is compiled there, so this test skips itself
        [sys.executable, "-m", "pytest", *pytest_args, "tests/unit"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout.splitlines()[-1], run.stdout[-500:]
