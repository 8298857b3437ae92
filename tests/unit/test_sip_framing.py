"""Cutting a TCP byte stream into messages (RFC 3261 §18.3) and the RFC 5626 keepalive."""

from __future__ import annotations

import pytest

from softswitch.sip import PING, PONG, FramingError, Request, StreamFramer, parse_message


def message(n: int, body: bytes = b"", *, length_name: str = "Content-Length") -> bytes:
    return (
        f"OPTIONS sip:bob@biloxi.com SIP/2.0\r\n"
        f"Via: SIP/2.0/TCP pc33.atlanta.com;branch=z9hG4bK{n}\r\n"
        f"Max-Forwards: 70\r\n"
        f"To: <sip:bob@biloxi.com>\r\n"
        f"From: <sip:alice@atlanta.com>;tag={n}\r\n"
        f"Call-ID: call-{n}\r\n"
        f"CSeq: {n} OPTIONS\r\n"
        f"{length_name}: {len(body)}\r\n"
        f"\r\n"
    ).encode() + body


ONE = message(1, b"hello")
TWO = message(2, b"body with \r\n\r\n inside\r\n\r\n")
THREE = message(3)


def feed_all(framer: StreamFramer, chunks: list[bytes]) -> list[bytes]:
    return [item for chunk in chunks for item in framer.feed(chunk)]


def test_one_message() -> None:
    framer = StreamFramer()
    assert framer.feed(ONE) == [ONE]
    assert framer.buffered == 0


def test_several_messages_in_one_chunk() -> None:
    assert StreamFramer().feed(ONE + TWO + THREE) == [ONE, TWO, THREE]


def test_a_body_holding_crlfcrlf_is_cut_by_content_length() -> None:
    [out] = StreamFramer().feed(TWO)
    msg = parse_message(out, datagram=False)
    assert msg.body == b"body with \r\n\r\n inside\r\n\r\n"


@pytest.mark.parametrize("stream", [ONE + TWO, TWO + PING + THREE], ids=["two", "ping"])
def test_split_at_every_byte_boundary(stream: bytes) -> None:
    expected = StreamFramer().feed(stream)
    for cut in range(1, len(stream)):
        framer = StreamFramer()
        assert feed_all(framer, [stream[:cut], stream[cut:]]) == expected, cut
        assert framer.buffered == 0


def test_one_byte_at_a_time() -> None:
    stream = ONE + PING + TWO + b"\r\n" + THREE
    framer = StreamFramer()
    out = feed_all(framer, [stream[i : i + 1] for i in range(len(stream))])
    assert out == [ONE, PING, TWO, THREE]
    assert framer.buffered == 0


def test_ping_between_messages() -> None:
    framer = StreamFramer()
    assert framer.feed(PING) == [PING]
    assert framer.feed(ONE + PING + PING + TWO) == [ONE, PING, PING, TWO]
    assert PONG == b"\r\n"


def test_lone_crlfs_are_ignored() -> None:
    framer = StreamFramer()
    assert framer.feed(b"\r\n") == []  # maybe half a ping: wait
    assert framer.feed(ONE) == [ONE]  # it was not
    assert framer.feed(b"\r\n" + TWO + b"\r\n" + b"\r\n\r\n" + THREE) == [TWO, PING, THREE]
    assert framer.feed(b"\r\n\r") == []
    assert framer.feed(b"\n") == [PING]


def test_partial_headers_wait() -> None:
    framer = StreamFramer()
    assert framer.feed(ONE[:40]) == []
    assert framer.buffered == 40
    assert framer.feed(ONE[40:-2]) == []
    assert framer.feed(ONE[-2:]) == [ONE]


def test_compact_and_spaced_content_length() -> None:
    spaced = message(4, b"abc", length_name="content-length  ")
    compact = message(5, b"abcd", length_name="l")
    assert StreamFramer().feed(spaced + compact) == [spaced, compact]


def test_a_message_larger_than_max_size() -> None:
    big = message(6, b"x" * 2000)
    with pytest.raises(FramingError):
        StreamFramer(max_size=1000).feed(big)
    with pytest.raises(FramingError):  # known as soon as the headers are in
        StreamFramer(max_size=1000).feed(big[:300])
    assert StreamFramer(max_size=len(big)).feed(big) == [big]


def test_headers_without_an_end_larger_than_max_size() -> None:
    framer = StreamFramer(max_size=1000)
    assert framer.feed(b"OPTIONS sip:a@b SIP/2.0\r\nX: " + b"y" * 900) == []
    with pytest.raises(FramingError):
        framer.feed(b"y" * 200)


def test_missing_content_length_on_a_stream() -> None:
    data = ONE.replace(b"Content-Length: 5\r\n", b"")
    with pytest.raises(FramingError):
        StreamFramer().feed(data)


@pytest.mark.parametrize("value", [b"-5", b"five", b"", b"1 2", b"9" * 5000])
def test_a_bad_content_length_on_a_stream(value: bytes) -> None:
    data = ONE.replace(b"Content-Length: 5", b"Content-Length: " + value)
    with pytest.raises(FramingError):
        StreamFramer().feed(data)


def test_two_content_lengths_on_a_stream() -> None:
    data = ONE.replace(b"Content-Length: 5\r\n", b"Content-Length: 5\r\nl: 3\r\n")
    with pytest.raises(FramingError):
        StreamFramer().feed(data)


def test_content_length_in_the_body_is_not_the_header() -> None:
    sneaky = message(7, b"Content-Length: 99\r\n")
    assert StreamFramer().feed(sneaky) == [sneaky]


def test_framing_error_is_a_parse_error_with_status_400() -> None:
    with pytest.raises(FramingError) as info:
        StreamFramer().feed(ONE.replace(b"Content-Length: 5\r\n", b""))
    assert info.value.status == 400


def test_framed_messages_parse_with_datagram_false() -> None:
    out = StreamFramer().feed(ONE + THREE)
    parsed = [parse_message(item, datagram=False) for item in out]
    assert all(isinstance(p, Request) for p in parsed)
    assert [p.body for p in parsed] == [b"hello", b""]
