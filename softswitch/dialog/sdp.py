"""The few edits the B2BUA legs make to session descriptions (RFC 4566, RFC 3264). Media never
passes through the softswitch; these only rewrite what the phones offer each other."""

from __future__ import annotations

_DIRECTIONS = frozenset({"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"})


def on_hold(sdp: bytes) -> bytes:
    """The same session description, one version on, with every stream `inactive` (RFC 3264
    §8.4)."""
    out = []
    for line in sdp.decode("utf-8", "replace").splitlines():
        if line.startswith("o="):
            parts = line.split(" ")
            if len(parts) >= 3 and parts[2].isdigit():
                parts[2] = str(int(parts[2]) + 1)
            line = " ".join(parts)
        elif line in _DIRECTIONS:
            continue
        out.append(line)
        if line.startswith("m="):
            out.append("a=inactive")
    return ("\r\n".join(out) + "\r\n").encode()


def refusing_answer(offer: bytes, host: str) -> bytes:
    """An answer that refuses every stream of `offer` (RFC 3264 §6: port zero, the offer's
    transport and formats kept): the answer to an offer in a 2xx for a call that is hung up at
    once. A media line too short to read is answered with `m=audio 0 RTP/AVP 0`, so the
    answer still has one line per offered stream."""
    address = f"IP6 {host}" if ":" in host else f"IP4 {host}"
    lines = ["v=0", f"o=- 0 0 IN {address}", "s=-", f"c=IN {address}", "t=0 0"]
    for line in offer.decode("utf-8", "replace").splitlines():
        if line.startswith("m="):
            fields = line[2:].split()  # media port proto fmt ...
            if len(fields) < 4:
                fields = ["audio", "0", "RTP/AVP", "0"]
            lines.append(" ".join([f"m={fields[0]}", "0", *fields[2:]]))
    return ("\r\n".join(lines) + "\r\n").encode()
