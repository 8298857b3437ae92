"""Console sessions and the login throttle, on a fake clock."""

from __future__ import annotations

import base64

from softswitch.web.auth import LoginThrottle
from softswitch.web.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_session_id_is_32_random_bytes() -> None:
    sessions = SessionStore()
    first, second = sessions.create("alice"), sessions.create("alice")
    assert first.id != second.id
    assert len(base64.urlsafe_b64decode(first.id + "=")) == 32
    assert sessions.get(first.id) is first
    assert sessions.get("") is None and sessions.get(None) is None
    assert sessions.get(first.id[:-1] + "A" if first.id[-1] != "A" else "B") is None


def test_sessions_expire_when_idle_and_after_their_maximum_age() -> None:
    clock = Clock()
    sessions = SessionStore(idle_timeout=60, max_age=150, clock=clock)
    session = sessions.create("alice")
    clock.now += 59
    assert sessions.get(session.id) is session  # used: the idle clock starts again
    clock.now += 59
    assert sessions.peek(session.id) is session
    clock.now += 2
    assert sessions.peek(session.id) is None  # peek does not keep a session alive
    assert sessions.get(session.id) is None
    assert len(sessions) == 0

    busy = sessions.create("bob")
    for _ in range(5):
        clock.now += 30
        sessions.get(busy.id)
    clock.now += 1
    assert sessions.get(busy.id) is None  # 150 s after login, however busy


def test_delete_and_sessions_of_an_operator() -> None:
    sessions = SessionStore()
    a1, a2, b = sessions.create("alice"), sessions.create("alice"), sessions.create("bob")
    assert {s.id for s in sessions.of_operator("alice")} == {a1.id, a2.id}
    assert sessions.delete(a1.id) is a1
    assert sessions.delete(a1.id) is None
    assert [s.id for s in sessions.of_operator("alice")] == [a2.id]
    assert sessions.get(b.id) is b


def test_expired_sessions_are_swept_on_login() -> None:
    clock = Clock()
    sessions = SessionStore(idle_timeout=10, clock=clock)
    for _ in range(3):
        sessions.create("alice")
    clock.now += 11
    sessions.create("bob")
    assert len(sessions) == 1


def test_the_throttle_counts_failures_per_key_in_a_window() -> None:
    throttle = LoginThrottle(limit=3, window=60)
    for _ in range(3):
        assert not throttle.blocked("login:alice", "address:192.0.2.1")
        throttle.failed("login:alice", "address:192.0.2.1")
    assert throttle.blocked("login:alice")
    assert throttle.blocked("login:bob", "address:192.0.2.1")  # same address, other login
    assert not throttle.blocked("login:bob", "address:192.0.2.2")
    throttle.succeeded("login:alice", "address:192.0.2.1")
    assert not throttle.blocked("login:alice", "address:192.0.2.1")
