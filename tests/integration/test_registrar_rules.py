"""The rules of RFC 3261 §10.3 that desk phones rarely exercise, sent as raw REGISTERs over
UDP to the real server and PostgreSQL (phones and sipp prove the common paths elsewhere)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
import uuid
from typing import Any

import pytest

from softswitch.registrar.registrar import register_tag
from softswitch.server import Softswitch
from softswitch.sip import Response, parse_message
from softswitch.sip.digest import answer_challenge, select_challenge

pytestmark = pytest.mark.integration

_branches = itertools.count(1)


class RawPhone:
    """Sends REGISTERs from one UDP socket and answers digest challenges."""

    def __init__(self, port: int, line: str, password: str) -> None:
        self.server = ("127.0.0.1", port)
        self.line = line
        self.password = password
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(3)
        self.local_port = self.sock.getsockname()[1]
        self.call_id = uuid.uuid4().hex
        self.cseq = 0

    def close(self) -> None:
        self.sock.close()

    def register(
        self,
        contacts: list[str] | None = None,
        expires: int | None = 300,
        extra: list[str] | None = None,
        cseq: int | None = None,
        user: str | None = None,
    ) -> Response:
        """One REGISTER, answered with credentials if challenged; the final response."""
        self.cseq = cseq if cseq is not None else self.cseq + 1
        response = self._send(contacts, expires, extra or [], None, user)
        if response.status == 401:
            challenge = select_challenge(response.header_values("www-authenticate"))
            authorization = answer_challenge(
                challenge, self.line, "REGISTER", "sip:127.0.0.1", password=self.password
            )
            if cseq is None:
                self.cseq += 1
            response = self._send(contacts, expires, extra or [], authorization, user)
        return response

    def burst(self, contact_lists: list[list[str]]) -> dict[int, Response]:
        """One REGISTER for each list of contacts, sent back to back on one nonce (nc 1, 2,
        ...) without waiting for answers: the final responses by CSeq."""
        self.cseq += 1
        challenge = self._send(None, None, [], None, None)
        assert challenge.status == 401
        offered = select_challenge(challenge.header_values("www-authenticate"))
        first = self.cseq + 1
        for nc, contacts in enumerate(contact_lists, start=1):
            self.cseq += 1
            authorization = answer_challenge(
                offered, self.line, "REGISTER", "sip:127.0.0.1", password=self.password, nc=nc
            )
            self._transmit(contacts, 300, [], authorization, None)
        answers = (self._final() for _ in contact_lists)
        return {response.cseq.number - first: response for response in answers}

    def _send(self, *request: Any) -> Response:
        """`_transmit(*request)`, then the final response to it."""
        self._transmit(*request)
        return self._final()

    def _final(self) -> Response:
        """The next final response to arrive."""
        while True:
            message = parse_message(self.sock.recv(65535))
            assert isinstance(message, Response)
            if message.status >= 200:
                return message

    def _transmit(
        self,
        contacts: list[str] | None,
        expires: int | None,
        extra: list[str],
        authorization: str | None,
        user: str | None,
    ) -> None:
        aor = f"sip:{user or self.line}@127.0.0.1"
        lines = [
            "REGISTER sip:127.0.0.1 SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.local_port};rport;branch=z9hG4bK-r{next(_branches)}",
            "Max-Forwards: 70",
            f"From: <{aor}>;tag={self.call_id[:8]}",
            f"To: <{aor}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} REGISTER",
        ]
        lines += [f"Contact: {c}" for c in contacts or []]
        if expires is not None:
            lines.append(f"Expires: {expires}")
        if authorization:
            lines.append(f"Authorization: {authorization}")
        lines += extra
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.server)

    def contact(self, suffix: str = "") -> str:
        return f"<sip:{self.line}@127.0.0.1:{self.local_port}{suffix}>"


@pytest.fixture
async def raw(switch: Softswitch):  # type: ignore[no-untyped-def]
    phone = RawPhone(switch.sip_port, "5551001", "one-secret")
    yield phone
    phone.close()


async def call(fn, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(fn, *args, **kwargs)


def contacts_of(response: Response) -> dict[str, str]:
    """{uri: params} of the Contact values of a 200 OK."""
    out = {}
    for value in response.header_values("contact"):
        uri, _, params = value.partition(">")
        out[uri.lstrip("<")] = params
    return out


async def test_q_values_and_query(switch: Softswitch, raw: RawPhone) -> None:
    desk = f"<sip:5551001@127.0.0.1:{raw.local_port}>;q=0.9"
    cellar = "<sip:5551001@127.0.0.1:5999>;q=0.3"
    ok = await call(raw.register, [desk, cellar])
    assert ok.status == 200
    listed = contacts_of(ok)
    assert len(listed) == 2
    assert "q=0.3" in listed["sip:5551001@127.0.0.1:5999"]
    assert ok.header("date") is not None
    assert [b.q for b in switch.location.bindings("5551001")] == [pytest.approx(0.9), 0.3]

    query = await call(raw.register, None, None)  # no Contact: a query (§10.2.3)
    assert query.status == 200
    assert set(contacts_of(query)) == set(listed)


async def test_contact_star_removes_every_binding(switch: Softswitch, raw: RawPhone) -> None:
    await call(raw.register, [raw.contact(), "<sip:5551001@127.0.0.1:5999>"])
    bad = await call(raw.register, ["*"], 300)
    assert bad.status == 400  # "*" only with Expires: 0 (§10.3 step 6)
    assert len(switch.location.bindings("5551001")) == 2

    ok = await call(raw.register, ["*"], 0)
    assert ok.status == 200
    assert not ok.header_values("contact")
    assert await switch.store.load_bindings(time.time(), line="5551001") == []


async def test_an_older_cseq_on_the_same_call_id_is_refused(
    switch: Softswitch, raw: RawPhone
) -> None:
    assert (await call(raw.register, [raw.contact()], 300, cseq=10)).status == 200
    stale = await call(raw.register, [raw.contact()], 0, cseq=5)  # §10.3 step 7
    assert stale.status == 500
    assert len(switch.location.bindings("5551001")) == 1
    assert (await call(raw.register, [raw.contact()], 0, cseq=20)).status == 200
    assert switch.location.bindings("5551001") == []


async def test_per_contact_expires_and_limits(switch: Softswitch, raw: RawPhone) -> None:
    ok = await call(raw.register, [raw.contact() + ";expires=120"], 3600)
    assert "expires=120" in contacts_of(ok)[raw.contact()[1:-1]]
    long = await call(raw.register, [raw.contact()], 99_999)
    assert "expires=3600" in contacts_of(long)[raw.contact()[1:-1]]  # cut to max_expires
    brief = await call(raw.register, [raw.contact()], 1)
    assert brief.status == 423
    assert brief.header("min-expires") == "2"


async def test_a_line_cannot_register_another_lines_number(
    switch: Softswitch, raw: RawPhone
) -> None:
    response = await call(raw.register, [raw.contact()], 300, user="5551002")
    assert response.status == 403
    assert switch.location.bindings("5551002") == []


async def test_unsupported_required_extension(switch: Softswitch, raw: RawPhone) -> None:
    response = await call(raw.register, [raw.contact()], 300, ["Require: 100rel, foo"])
    assert response.status == 420
    assert response.header("unsupported") == "100rel, foo"


async def test_same_device_new_address_replaces_its_binding(
    switch: Softswitch, raw: RawPhone
) -> None:
    instance = ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"'
    await call(raw.register, [f"<sip:5551001@127.0.0.1:6001>{instance}"])
    await call(raw.register, [f"<sip:5551001@127.0.0.1:6002>{instance}"])
    contacts = [b.contact for b in switch.location.bindings("5551001")]
    assert contacts == ["sip:5551001@127.0.0.1:6002"]


async def test_the_challenge_is_answered_from_the_bytes_without_a_transaction(
    switch: Softswitch, raw: RawPhone
) -> None:
    held = switch.endpoint.table.server_count
    raw.cseq += 1
    challenge = await call(raw._send, [raw.contact()], 300, [], None, None)
    assert challenge.status == 401
    assert challenge.to_addr.tag == register_tag(raw.call_id)  # the registrar's own tag
    offered = challenge.header_values("www-authenticate")
    assert len(offered) == len(switch.authenticator.algorithms)
    assert all(f'realm="{switch.authenticator.realm}"' in value for value in offered)
    assert challenge.top_via.received == "127.0.0.1" and challenge.top_via.rport == raw.local_port
    assert switch.endpoint.table.server_count == held  # no transaction waits out timer J
    ok = await call(raw.register, [raw.contact()])
    assert ok.status == 200
    assert switch.endpoint.table.server_count == held + 1  # the REGISTER with credentials


async def test_registrations_of_one_line_that_come_together_are_made_in_turn(
    switch: Softswitch, raw: RawPhone
) -> None:
    """Each REGISTER is made on the bindings the one before it left (§10.3: the registrar
    processes them in order), though all arrive while the first is being written: the third
    removes the binding the first made."""
    desk, hall, cellar = (f"sip:5551001@127.0.0.1:{port}" for port in (6000, 6001, 6002))
    answers = await call(
        raw.burst, [[f"<{desk}>"], [f"<{hall}>"], [f"<{desk}>;expires=0"], [f"<{cellar}>"]]
    )
    assert [answers[n].status for n in range(4)] == [200] * 4
    assert [set(contacts_of(answers[n])) for n in range(4)] == [
        {desk},
        {desk, hall},
        {hall},
        {hall, cellar},
    ]
    stored = await switch.store.load_bindings(time.time(), line="5551001")
    assert sorted(b.contact for b in stored) == [hall, cellar]
    assert sorted(b.contact for b in switch.location.bindings("5551001")) == [hall, cellar]


async def test_a_registration_the_database_refuses_gets_500_and_the_next_goes_through(
    switch: Softswitch, raw: RawPhone, caplog: pytest.LogCaptureFixture
) -> None:
    """A write PostgreSQL refuses answers its REGISTER 500 with Retry-After, changes nothing,
    and the line's next REGISTER (sent before that answer came) is made as usual."""
    async with switch.store._pool.acquire() as conn:
        await conn.execute(
            """
            CREATE FUNCTION refuse_binding() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$;
            CREATE TRIGGER refuse_binding BEFORE INSERT ON bindings FOR EACH ROW
                WHEN (NEW.contact LIKE 'sip:refused@%') EXECUTE FUNCTION refuse_binding();
            """
        )
    refused = "<sip:refused@127.0.0.1:6100>"
    desk = raw.contact()
    with caplog.at_level(logging.ERROR, logger="softswitch.registrar.registrar"):
        answers = await call(raw.burst, [[desk], [refused], [desk, "<sip:5551001@127.0.0.1:6101>"]])
    assert answers[0].status == 200
    assert answers[1].status == 500
    assert answers[1].header("retry-after") == "5"
    assert answers[2].status == 200
    assert set(contacts_of(answers[2])) == {desk[1:-1], "sip:5551001@127.0.0.1:6101"}
    assert "bindings of line 5551001 not saved" in caplog.text
    stored = await switch.store.load_bindings(time.time(), line="5551001")
    assert sorted(b.contact for b in stored) == sorted([desk[1:-1], "sip:5551001@127.0.0.1:6101"])
    assert sorted(b.contact for b in switch.location.bindings("5551001")) == sorted(
        b.contact for b in stored
    )
