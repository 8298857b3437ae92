"""Which protocol modules run compiled (setup.py builds them with mypyc), and a guard for a
source checkout installed with `pip install -e .`: there the compiled modules sit beside their
sources and Python loads them first, so one older than its source would run the old code."""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# this interpreter's suffix, ".cpython-311-x86_64-linux-gnu.so" and the like
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]


def compiled_sources(package: Path = PACKAGE) -> list[Path]:
    """The sources with a compiled module beside them (which Python imports instead)."""
    return [p for p in package.rglob("*.py") if p.with_name(p.stem + SUFFIX).exists()]


def stale_sources(package: Path = PACKAGE) -> list[Path]:
    """Sources changed after their module was compiled, in a source checkout."""
    if not (package.parent / "setup.py").exists():
        return []  # installed from a wheel: as built
    return [
        source
        for source in compiled_sources(package)
        if source.stat().st_mtime > source.with_name(source.stem + SUFFIX).stat().st_mtime
    ]
