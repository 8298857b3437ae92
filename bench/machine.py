"""The machine a run was made on, for the record."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from softswitch import compiled

from .sipp import sipp_version
from .targets import kamailio_version


def describe() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "kernel": platform.release(),
        "memory_gib": _memory_gib(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "python": sys.version.split()[0],
        "python_build": python_build(),
        "uvloop": _version("uvloop"),
        "asyncpg": _version("asyncpg"),
        "kamailio": kamailio_version(),
        "sipp": sipp_version(),
        "softswitch": _revision(),
        "compiled": _compiled(),
        "settings": server_settings(),
    }


def server_settings() -> dict[str, str]:
    """The softswitch's settings this run's environment sets (`SOFTSWITCH_SIP_T1=0.1`), which
    the servers it starts inherit. The database URL is left out: it may hold a password, and
    the bench gives the server its own."""
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("SOFTSWITCH_") and name != "SOFTSWITCH_DATABASE_URL"
    }


def python_build() -> dict[str, Any]:
    """How the interpreter that runs the softswitch was built: on one machine, the same Python
    version from a shared libpython built without optimizations took 9 to 29 % more CPU per
    call than Debian's `python3`, which holds the interpreter in its executable (README,
    Performance)."""
    configured = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    return {
        "shared_libpython": _maps_libpython(),
        "enable_optimizations": "--enable-optimizations" in configured,
        "with_lto": "--with-lto" in configured,
    }


def _maps_libpython() -> bool | None:
    """Does this process run the interpreter from a shared libpython (Linux)?"""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    return "/libpython" in maps


def _compiled() -> list[str]:
    """The softswitch's modules that run compiled (mypyc), as paths in the package."""
    package = compiled.PACKAGE
    return sorted(str(p.relative_to(package)) for p in compiled.compiled_sources())


def _revision() -> str | None:
    """The commit measured, `-dirty` when the working tree differs from it."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
