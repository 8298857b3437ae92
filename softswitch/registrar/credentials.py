"""Every line's digest credentials, in memory, for the registrar and the call service."""

from __future__ import annotations

MD5_SIZE = 16  # bytes of an MD5 digest; a SHA-256 one follows it

__all__ = ["LineCredentials", "pack_ha1s"]


def pack_ha1s(ha1_md5: str, ha1_sha256: str) -> bytes:
    """A line's two hex HA1s as one value of raw digests (an object of 88 bytes, where the
    two strings take 208): a node holds one for every line."""
    return bytes.fromhex(ha1_md5) + bytes.fromhex(ha1_sha256)


class LineCredentials:
    """HA1s by line number, as `pack_ha1s` packs them (the store's `load_ha1_digests`)."""

    __slots__ = ("_by_number",)

    def __init__(self) -> None:
        self._by_number: dict[str, bytes] = {}

    def load(self, digests: dict[str, bytes]) -> None:
        """Replace every entry with `digests` (the store's `load_ha1_digests`), taken as it is
        rather than copied: the caller must not change it afterwards."""
        self._by_number = digests

    def set(self, number: str, ha1_md5: str | None, ha1_sha256: str | None) -> None:
        """A line's new credentials; `None` HA1s take them away."""
        if ha1_md5 is None or ha1_sha256 is None:
            self._by_number.pop(number, None)
        else:
            self._by_number[number] = pack_ha1s(ha1_md5, ha1_sha256)

    def discard(self, number: str) -> None:
        self._by_number.pop(number, None)

    def lookup(self, username: str, algorithm: str) -> str | None:
        """The hex HA1 of `username` for `algorithm` ("MD5", else SHA-256), or None."""
        digests = self._by_number.get(username)
        if digests is None:
            return None
        return digests[:MD5_SIZE].hex() if algorithm == "MD5" else digests[MD5_SIZE:].hex()

    def __contains__(self, number: object) -> bool:
        return number in self._by_number

    def __len__(self) -> int:
        return len(self._by_number)
