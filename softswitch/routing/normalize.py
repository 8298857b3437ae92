"""Dialed digits to the number the dialplan matches.

1. Visual separators go: spaces, `-`, `.`, `(`, `)`, `/`.
2. A leading `+` (international form): `+` and the network's own country code give the national
   number, in the form dialed at home (after the trunk prefix, `1` or `0`, if one is set); any
   other country code gets the international prefix (`011`) in front; without one configured,
   the `+` is just dropped. A number in international form is never a short local number.
3. A short local number (exactly the caller's exchange's local length, digits only, not a
   service number like 911) gets the exchange's prefix in front: `001` from Ashford is 5551001.
National numbers keep the form they were dialed in.
"""

from __future__ import annotations

from .directory import Directory
from .patterns import is_dialable
from .plan import Numbering

__all__ = ["Normalizer", "is_valid_number", "normalize"]

_SEPARATORS = str.maketrans("", "", " \t-.()/")


class Normalizer:
    """The numbering settings of a plan, resolved against the directory once (each exchange's
    local length and prefix), for normalizing on every call."""

    __slots__ = ("_local", "_numbering", "_service")

    def __init__(self, numbering: Numbering, directory: Directory) -> None:
        self._numbering = numbering
        self._service = numbering.service_numbers
        self._local: dict[str, tuple[int, str]] = {}
        codes = {exchange.code for exchange in directory.exchanges()} | set(numbering.exchanges)
        for code in codes:
            length, prefix = numbering.local_rule(code)
            if prefix is None:
                exchange = directory.exchange(code)
                prefix = exchange.prefix if exchange is not None else None
            if length and prefix:
                self._local[code] = (length, prefix)

    def __call__(self, dialed: str, exchange: str | None, steps: list[str] | None = None) -> str:
        """The number to match for `dialed` from a caller of `exchange`. When `steps` is a list,
        each change made is described in it. The result may be empty or hold characters that
        are not dialable; check it with `is_valid_number`."""
        if dialed.isdigit() and dialed.isascii():
            number = dialed
        else:
            number = dialed.translate(_SEPARATORS)
            if steps is not None and number != dialed:
                steps.append(f"separators removed: {number}")
            if number.startswith("+"):  # international form: never a short local number
                return _international(number[1:], self._numbering, steps)
            if not (number.isdigit() and number.isascii()):
                return number
        local = self._local.get(exchange) if exchange is not None else None
        if local is not None and len(number) == local[0] and number not in self._service:
            if steps is not None:
                steps.append(
                    f"short local number of {exchange}: {local[1]} put in front: {local[1]}{number}"
                )
            number = local[1] + number
        return number


def normalize(
    dialed: str,
    exchange: str | None,
    numbering: Numbering,
    directory: Directory,
    steps: list[str] | None = None,
) -> str:
    """`Normalizer(numbering, directory)(dialed, exchange, steps)`, for a single number."""
    return Normalizer(numbering, directory)(dialed, exchange, steps)


def _international(rest: str, numbering: Numbering, steps: list[str] | None) -> str:
    country = numbering.country_code
    if country and rest.startswith(country):
        number = (numbering.trunk_prefix or "") + rest[len(country) :]
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
