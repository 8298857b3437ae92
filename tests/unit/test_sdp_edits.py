"""The B2BUA's edits to session descriptions: hold (RFC 3264 §8.4) and refusing every stream
of an offer (§6)."""

from __future__ import annotations

from softswitch.dialog.sdp import on_hold, refusing_answer

OFFER = (
    b"v=0\r\no=gw 53655765 2353687637 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"
    b"m=audio 6000 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n"
    b"m=video 6002 RTP/AVP 96\r\n"
)


def test_hold_moves_the_version_on_and_makes_every_stream_inactive() -> None:
    held = on_hold(OFFER).decode().split("\r\n")
    assert "o=gw 53655765 2353687638 IN IP4 127.0.0.2" in held
    assert "a=sendrecv" not in held
    assert held.count("a=inactive") == 2
    assert held[held.index("m=video 6002 RTP/AVP 96") + 1] == "a=inactive"


def test_an_answer_refuses_each_offered_stream_with_port_zero() -> None:
    answer = refusing_answer(OFFER, "127.0.0.1").decode().split("\r\n")
    assert answer[:5] == ["v=0", "o=- 0 0 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"]
    assert [line for line in answer if line.startswith("m=")] == [
        "m=audio 0 RTP/AVP 8 0",
        "m=video 0 RTP/AVP 96",
    ]
    assert "c=IN IP6 ::1" in refusing_answer(OFFER, "::1").decode()


def test_a_media_line_too_short_to_read_still_gets_its_refusal() -> None:
    answer = refusing_answer(b"v=0\r\nm=\r\nm=audio 4000\r\n", "127.0.0.1").decode()
    assert answer.count("m=audio 0 RTP/AVP 0") == 2
