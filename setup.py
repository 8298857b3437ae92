"""The modules every message passes through (SIP messages, transactions, the proxy core, the
registrar, the transport's endpoint, the call service) compiled to C with mypyc.

They are plain, fully typed Python; compiled, the proxy's hot path takes a little over half the
CPU (`python -m bench.hotpath`). Where mypyc or a C compiler is missing, or with
SOFTSWITCH_PURE_PYTHON=1, the same modules are installed and run as Python.
"""

from __future__ import annotations

import importlib.machinery
import os
from pathlib import Path

from setuptools import setup

COMPILED = ("softswitch/sip", "softswitch/transaction", "softswitch/proxy", "softswitch/registrar")
COMPILED_FILES = (
    "softswitch/calls.py",
    "softswitch/transport/endpoint.py",
    "softswitch/transport/networks.py",
    "softswitch/transport/peer.py",
    "softswitch/transport/via.py",
)
# Its dataclasses name the transaction classes that import it: left to Python, it breaks the
# cycle that the compiled module's import would follow into a class not yet made.
INTERPRETED = {"softswitch/transaction/events.py"}


def compiled_modules() -> list[str]:
    paths = [str(p) for package in COMPILED for p in sorted(Path(package).glob("*.py"))]
    return [p for p in [*paths, *COMPILED_FILES] if p not in INTERPRETED]


def extensions() -> list:
    if os.environ.get("SOFTSWITCH_PURE_PYTHON"):
        remove_compiled()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("softswitch: mypyc is not installed; the protocol layers run as Python")
        return []
    try:
        modules = mypycify(compiled_modules(), opt_level="3", group_name="softswitch")
    except SystemExit:  # mypyc found a type error: install as Python rather than fail
        print("softswitch: mypyc refused the sources; the protocol layers run as Python")
        return []
    for module in modules:
        module.optional = True  # no C compiler: the pure Python modules stay in use
    return modules


def remove_compiled() -> None:
    """In a source checkout, what an earlier `pip install -e .` compiled: Python would load it
    before the sources."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    for source in compiled_modules():
        Path(source).with_suffix(suffix).unlink(missing_ok=True)
    Path(f"softswitch__mypyc{suffix}").unlink(missing_ok=True)


setup(ext_modules=extensions())
