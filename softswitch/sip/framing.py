"""Cutting a TCP byte stream into SIP messages by Content-Length (RFC 3261 §18.3, §7.5), and
the double-CRLF keepalive of RFC 5626 §3.5.1."""

from __future__ import annotations

import re

from .errors import ParseError

PING = b"\r\n\r\n"
PONG = b"\r\n"

_CONTENT_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$")


class FramingError(ParseError):
    """The stream cannot be cut into messages any more; the connection must be closed."""


class StreamFramer:
    """Feed received bytes, get back whole messages and keepalive pings.

    Each item returned by `feed` is either the bytes of one message or `PING` (a client's
    double-CRLF keepalive, to be answered with `PONG`).
    """

    __slots__ = ("_buffer", "max_size")

    def __init__(self, max_size: int = 65535) -> None:
        self._buffer = bytearray()
        self.max_size = max_size

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        while buffer:
            if buffer.startswith(PING):
                out.append(PING)
                del buffer[:4]
                continue
            if buffer.startswith(b"\r\n"):
                # A lone CRLF between messages is ignored (§7.5) unless it may be half a ping.
                if len(buffer) < 4 and PING.startswith(buffer):
                    break
                del buffer[:2]
                continue
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > self.max_size:
                    raise FramingError(f"headers longer than {self.max_size} bytes")
                break
            head_end = end + 4
            match = _CONTENT_LENGTH.search(buffer, 0, end + 2)
            if match is None:
                raise FramingError("no Content-Length on a stream transport")
            if _CONTENT_LENGTH.search(buffer, match.end(), end + 2) is not None:
                # RFC 4475 §3.3.9: which one frames the body is anybody's guess
                raise FramingError("more than one Content-Length on a stream transport")
            value = match.group(1)
            if not value.isdigit() or len(value) > 9:
                raise FramingError(f"bad Content-Length {value[:20]!r}")  # RFC 4475 §3.1.2.3
            length = int(value)
            total = head_end + length
            if total > self.max_size:
                raise FramingError(f"message of {total} bytes is larger than {self.max_size}")
            if len(buffer) < total:
                break
            out.append(bytes(buffer[:total]))
            del buffer[:total]
        return out

    @property
    def buffered(self) -> int:
        return len(self._buffer)
