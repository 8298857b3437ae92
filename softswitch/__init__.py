"""An automated SIP exchange for county telephone networks."""

__version__ = "0.1.0"
