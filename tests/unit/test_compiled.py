"""The protocol layers run compiled where setup.py could build them, and a source checkout
never runs a compiled module older than its source."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import pytest

import softswitch.proxy.core
import softswitch.sip.message
import softswitch.transaction.table
from softswitch.compiled import SUFFIX, stale_sources


@pytest.mark.skipif(
    bool(os.environ.get("SOFTSWITCH_PURE_PYTHON"))
    or shutil.which("cc") is None
    or not Path(sysconfig.get_paths()["include"], "Python.h").exists(),
    reason="installed without compiling (SOFTSWITCH_PURE_PYTHON, or no C compiler `cc` "
    "or Python.h)",
)
def test_the_hot_path_modules_are_compiled() -> None:
    for module in (softswitch.sip.message, softswitch.transaction.table, softswitch.proxy.core):
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
