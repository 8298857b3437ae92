"""An automated SIP exchange for county telephone networks."""

from .compiled import stale_sources

__version__ = "0.1.0"

if stale := stale_sources():
    raise ImportError(
        f"{stale[0]} changed after it was compiled: run `pip install -e .` again "
        "(SOFTSWITCH_PURE_PYTHON=1 to install without compiling)"
    )
