"""Dialed digits to the number the dialplan matches.

1. Visual separators go: spaces, `-`, `.`, `(`, `)`, `/`.
2. A leading `+` (international form): `+` and the network's own country code give the national
   number; any other country code gets the international prefix (`011`) in front; without one
   configured, the `+` is just dropped.
3. A short local number (exactly the caller's exchange's local length, digits only, not a
   service number like 911) gets the exchange's prefix in front: `001` from Ashford is 5551001.
National numbers keep the form they were dialed in.
"""

from __future__ import annotations

from .directory import Directory
from .patterns import is_dialable
from .plan import Numbering

__all__ = ["is_valid_number", "normalize"]

_SEPARATORS = str.maketrans("", "", " \t-.()/")


def normalize(
    dialed: str,
    exchange: str | None,
    numbering: Numbering,
    directory: Directory,
    steps: list[str] | None = None,
) -> str:
    """The number to match for `dialed` from a caller of `exchange`. When `steps` is a list,
    each change made is described in it. The result may be empty or hold characters that are
    not dialable; check it with `is_valid_number`."""
    number = dialed.translate(_SEPARATORS)
    if steps is not None and number != dialed:
        steps.append(f"separators removed: {number}")
    if number.startswith("+"):
        number = _international(number[1:], numbering, steps)
    if (
        exchange is not None
        and number.isdigit()
        and number.isascii()
        and number not in numbering.service_numbers
    ):
        length, prefix = numbering.local_rule(exchange)
        if length and len(number) == length:
            if prefix is None:
                own = directory.exchange(exchange)
                prefix = own.prefix if own is not None else None
            if prefix:
                if steps is not None:
                    steps.append(
                        f"short local number of {exchange}: {prefix} put in front: {prefix}{number}"
                    )
                number = prefix + number
    return number


def _international(rest: str, numbering: Numbering, steps: list[str] | None) -> str:
    country = numbering.country_code
    if country and rest.startswith(country):
        number = rest[len(country) :]
        why = f"+{country} is this country: national number {number}"
    elif numbering.international_prefix:
        number = numbering.international_prefix + rest
        why = f"+ replaced by the international prefix: {number}"
    else:
        number = rest
        why = f"+ removed: {number}"
    if steps is not None:
        steps.append(why)
    return number


def is_valid_number(number: str) -> bool:
    """Digits, `*` and `#` only, and not empty."""
    return (number.isdigit() and number.isascii()) or is_dialable(number)
