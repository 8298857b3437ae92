"""Digest authentication: RFC vectors, header parsing, nonces, and the server's decisions."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from softswitch.sip.digest import (
    AuthOutcome,
    Credentials,
    DigestAuthenticator,
    DigestError,
    NonceManager,
    NonceStatus,
    UnsupportedDigest,
    _params,
    _plain_params,
    answer_challenge,
    build_challenge,
    compute_ha1,
    compute_response,
    parse_challenge_params,
    select_challenge,
    verify,
)

SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "exchange.example"
T0 = 1_700_000_000.0

# RFC 2617 §3.5
RFC2617_AUTHORIZATION = """Digest username="Mufasa",
                 realm="testrealm@host.com",
                 nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 uri="/dir/index.html",
                 qop=auth,
                 nc=00000001,
                 cnonce="0a4f113b",
                 response="6629fae49393a05397450978507c4ef1",
                 opaque="5ccc069c403ebaf9f0171e9517f40e41\""""

# RFC 7616 §3.9.1
RFC7616_CHALLENGE = {
    "realm": "http-auth@example.org",
    "qop": "auth, auth-int",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
}
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


# -- RFC vectors ------------------------------------------------------------------------------


def test_rfc2617_example() -> None:
    ha1 = compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert ha1 == "939e7578ed9e3c518a452acee763bce9"
    credentials = Credentials.from_header(RFC2617_AUTHORIZATION)
    assert credentials.nc == 1
    assert credentials.qop == "auth"
    assert credentials.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert verify(credentials, ha1, "GET")
    assert not verify(credentials, ha1, "POST")
    assert not verify(credentials, compute_ha1("Mufasa", "testrealm@host.com", "x"), "GET")


def test_rfc2617_example_client_side() -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    value = answer_challenge(
        challenge, "Mufasa", "GET", "/dir/index.html", password="Circle Of Life", cnonce="0a4f113b"
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    assert Credentials.from_header(value) == Credentials.from_header(RFC2617_AUTHORIZATION)


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_rfc7616_example(algorithm: str, response: str) -> None:
    ha1 = compute_ha1("Mufasa", "http-auth@example.org", "Circle of Life", algorithm)
    expected = compute_response(
        ha1,
        "GET",
        "/dir/index.html",
        RFC7616_CHALLENGE["nonce"],
        algorithm=algorithm,
        qop="auth",
        nc=1,
        cnonce=RFC7616_CNONCE,
    )
    assert expected == response
    value = answer_challenge(
        {**RFC7616_CHALLENGE, "algorithm": algorithm},
        "Mufasa",
        "GET",
        "/dir/index.html",
        ha1=ha1,
        cnonce=RFC7616_CNONCE,
    )
    credentials = Credentials.from_header(value)
    assert credentials.response == response
    assert credentials.algorithm == algorithm
    assert credentials.opaque == RFC7616_CHALLENGE["opaque"]
    assert verify(credentials, ha1, "GET")


# -- parsing ----------------------------------------------------------------------------------


def test_parse_escapes_and_spacing() -> None:
    value = 'digest   REALM = "a \\"quoted\\" \\\\ realm"\t,nonce="n\\x"  ,  Algorithm = MD5  '
    assert parse_challenge_params(value) == {
        "realm": 'a "quoted" \\ realm',
        "nonce": "nx",
        "algorithm": "MD5",
    }


def test_parse_tolerates_folding_empty_elements_and_utf8() -> None:
    value = 'Digest ,realm="Zürich",\r\n  , nonce="" ,qop=auth,'
    assert parse_challenge_params(value) == {"realm": "Zürich", "nonce": "", "qop": "auth"}


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "Digest",
        "Digest ,  ,",
        'Digest realm="unterminated',
        'Digest realm="a" nonce="b"',
        'Digest realm="a",, nonce',
        "Digest realm=",
        "Digest =x",
        'Digest realm="a", realm="b"',
        'Digest realm="a", REALM="b"',
        'Digest realm="trailing backslash\\"',
        'Digest realm="line\r\nbreak"',
        'Digest realm="nul\x00"',
        'Digest realm="a", ???',
        'Digest realm="a"junk',
        "Digest realm=a b",
        'Digest realm=("x")',
        'Digestrealm="a"',
    ],
)
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(DigestError):
        parse_challenge_params(value)


@pytest.mark.parametrize("value", ["Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", 'Bearer realm="x"'])
def test_parse_rejects_other_schemes(value: str) -> None:
    with pytest.raises(UnsupportedDigest):
        parse_challenge_params(value)


# The pieces credentials are made of, and the characters that make the two readings differ.
_piece = st.text(st.sampled_from(' ,="\\\t\r\nazAZ09#-é'), max_size=12)
_item = st.tuples(
    st.sampled_from(["username", "Realm", "nonce", "a#b", "x y", "", " uri "]),
    st.sampled_from(["=", " = ", "", "=="]),
    st.one_of(_piece, _piece.map(lambda text: f'"{text}"'), st.sampled_from(["MD5", "auth"])),
).map("".join)


@given(
    items=st.lists(_item, max_size=5),
    separators=st.lists(st.sampled_from([",", ", ", " ,", ",,", " ", ""]), min_size=5),
)
def test_plain_reading_answers_as_the_grammar(items: list[str], separators: list[str]) -> None:
    value = "Digest " + "".join(item + sep for item, sep in zip(items, separators, strict=False))
    plain = _plain_params(value, len("Digest "))
    if plain is not None:
        assert plain == _params(value, len("Digest "))


@given(st.text(st.sampled_from(' ,="\\\tazAZ09#=é'), max_size=40))
def test_plain_reading_of_any_text_answers_as_the_grammar(rest: str) -> None:
    plain = _plain_params("Digest " + rest, len("Digest "))
    if plain is not None:
        assert plain == _params("Digest " + rest, len("Digest "))


def test_credentials_as_phones_write_them_are_read_plainly() -> None:
    """The usual forms, with and without spaces after the commas, take the quick reading."""
    for separator in (",", ", "):
        value = separator.join(
            [
                'Digest username="5550100"',
                'realm="exchange.example"',
                'nonce="AAABmsj3kZQxN2Qa3Zx6k1t9b2yWl8Xh0aGJf2y1c4Q"',
                'uri="sip:exchange.example;transport=udp"',
                'response="' + "0" * 32 + '"',
                "algorithm=MD5",
                "qop=auth",
                "nc=00000001",
                'cnonce="6b8b4567"',
            ]
        )
        plain = _plain_params(value, len("Digest "))
        assert plain == parse_challenge_params(value) == _params(value, len("Digest "))
        assert plain is not None and plain["uri"] == "sip:exchange.example;transport=udp"


def credential_params(**overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "username": '"alice"',
        "realm": f'"{REALM}"',
        "nonce": '"abc"',
        "uri": '"sip:exchange.example"',
        "response": '"' + "0" * 32 + '"',
        "qop": "auth",
        "nc": "00000001",
        "cnonce": '"xyz"',
    }
    params.update(overrides)
    return "Digest " + ", ".join(f"{k}={v}" for k, v in params.items() if v is not None)


def test_credentials_normalise_algorithm_and_quoted_tokens() -> None:
    value = credential_params(algorithm='"sha-256"', qop='"AUTH"', response='"' + "A" * 64 + '"')
    credentials = Credentials.from_header(value)
    assert credentials.algorithm == "SHA-256"
    assert credentials.qop == "auth"
    assert credentials.response == "a" * 64


def test_credentials_default_md5_and_nc_hex() -> None:
    credentials = Credentials.from_header(credential_params(nc="0000001f"))
    assert credentials.algorithm == "MD5"
    assert credentials.nc == 31
    assert credentials.opaque is None


def test_credentials_rfc2069_form() -> None:
    credentials = Credentials.from_header(credential_params(qop=None, nc=None, cnonce=None))
    assert (credentials.qop, credentials.nc, credentials.cnonce) == (None, None, None)


@pytest.mark.parametrize(
    "overrides",
    [
        {"uri": None},
        {"username": None},
        {"response": None},
        {"nonce": None},
        {"realm": None},
        {"uri": '""'},
        {"nc": None},
        {"cnonce": None},
        {"nc": "1"},
        {"nc": "0000000G"},
        {"nc": "0000001F"},
        {"nc": "000000001"},
        {"qop": None},  # nc and cnonce without qop
        {"response": '"' + "0" * 31 + '"'},
        {"response": '"' + "z" * 32 + '"'},
        {"response": '"' + "0" * 64 + '"'},  # SHA-256 length for MD5
        {"response": '"' + "é" * 32 + '"'},
    ],
)
def test_credentials_reject_malformed(overrides: dict[str, str | None]) -> None:
    with pytest.raises(DigestError) as info:
        Credentials.from_header(credential_params(**overrides))
    assert not isinstance(info.value, UnsupportedDigest)


@pytest.mark.parametrize(
    "overrides",
    [{"algorithm": "SHA-512-256"}, {"algorithm": "MD5-sess"}, {"qop": "auth-int"}],
)
def test_credentials_reject_unsupported(overrides: dict[str, str]) -> None:
    with pytest.raises(UnsupportedDigest):
        Credentials.from_header(credential_params(**overrides))


def test_build_challenge() -> None:
    assert build_challenge('a"b', "n", "SHA-256", stale=True, opaque="o") == (
        'Digest realm="a\\"b", nonce="n", algorithm=SHA-256, qop="auth", opaque="o", stale=true'
    )
    assert (
        build_challenge(REALM, "n")
        == f'Digest realm="{REALM}", nonce="n", algorithm=MD5, qop="auth"'
    )
    with pytest.raises(ValueError):
        build_challenge(REALM, "n", "SHA-512")
    with pytest.raises(ValueError):
        build_challenge("evil\r\nVia: x", "n")


def test_select_challenge_prefers_sha256() -> None:
    md5 = build_challenge(REALM, "n1", "MD5")
    sha = build_challenge(REALM, "n2", "SHA-256")
    other = build_challenge(REALM, "n3", "MD5").replace("MD5", "SHA-512-256")
    assert select_challenge([md5, "Basic realm=x", other, sha])["nonce"] == "n2"
    assert select_challenge([md5, other])["nonce"] == "n1"
    with pytest.raises(UnsupportedDigest):
        select_challenge([other, 'Basic realm="x"'])


def test_answer_challenge_arguments() -> None:
    challenge = build_challenge(REALM, "n")
    with pytest.raises(ValueError):
        answer_challenge(challenge, "a", "REGISTER", "sip:x")
    with pytest.raises(ValueError):
        answer_challenge(challenge, "a", "REGISTER", "sip:x", password="p", ha1="h")
    with pytest.raises(ValueError):
        answer_challenge(challenge, "a", "REGISTER", "sip:x", password="p", nc=0)
    with pytest.raises(UnsupportedDigest):
        answer_challenge(
            challenge.replace('"auth"', '"auth-int"'), "a", "REGISTER", "sip:x", password="p"
        )
    with pytest.raises(DigestError):
        answer_challenge({"realm": REALM}, "a", "REGISTER", "sip:x", password="p")


# -- nonces -----------------------------------------------------------------------------------


def test_nonce_lifetime() -> None:
    nonces = NonceManager(SECRET, REALM, lifetime=300)
    nonce = nonces.issue(T0)
    assert len(nonce) == 43
    assert nonce != nonces.issue(T0)  # salted: phones challenged together get their own
    assert nonces.check(nonce, T0) is NonceStatus.VALID
    assert nonces.check(nonce, T0 + 300) is NonceStatus.VALID
    assert nonces.check(nonce, T0 + 300.5) is NonceStatus.STALE
    assert nonces.check(nonce, T0 + 86_400) is NonceStatus.STALE


def test_nonce_from_another_server_or_tampered_is_invalid() -> None:
    nonces = NonceManager(SECRET, REALM)
    nonce = nonces.issue(T0)
    flipped = nonce[:10] + ("A" if nonce[10] != "A" else "B") + nonce[11:]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare_bits = nonce[:-1] + alphabet[alphabet.index(nonce[-1]) + 1]  # same bytes, not canonical
    assert base64.urlsafe_b64decode(spare_bits + "=") == base64.urlsafe_b64decode(nonce + "=")
    assert nonces.check(nonce, T0) is NonceStatus.VALID  # remembered: no shortcut for others
    for candidate in [
        flipped,
        spare_bits,
        nonce[:-1],
        nonce + "A",
        nonce.replace(nonce[5], "!"),
        "é" * 43,
        "",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    ]:
        assert nonces.check(candidate, T0) is NonceStatus.INVALID, candidate
    for other in [
        NonceManager(b"another secret of sixteen", REALM),
        NonceManager(SECRET, "other.example"),
        NonceManager(SECRET, REALM, scope="worker-2"),
    ]:
        assert other.check(nonce, T0) is NonceStatus.INVALID
    with pytest.raises(ValueError):
        NonceManager(b"short", REALM)


def test_nonce_count_replay_and_pruning() -> None:
    nonces = NonceManager(SECRET, REALM, lifetime=300)
    first, second = nonces.issue(T0), nonces.issue(T0 + 100)
    assert nonces.record(first, 1, T0)
    assert not nonces.record(first, 1, T0 + 1)
    assert nonces.record(first, 3, T0 + 2)
    assert not nonces.record(first, 2, T0 + 3)
    assert nonces.record(second, 1, T0 + 100)
    assert len(nonces) == 2
    assert not nonces.record("forged", 1, T0 + 100)
    nonces.prune(T0 + 301)
    assert len(nonces) == 1
    assert not nonces.record(first, 4, T0 + 301)  # stale now, and forgotten
    nonces.prune(T0 + 401)
    assert len(nonces) == 0


@pytest.mark.parametrize("realm", [REALM, 'a "quoted" realm', '"-"', "-"])
@pytest.mark.parametrize("stale", [False, True])
def test_challenges_are_written_as_build_challenge_writes_them(realm: str, stale: bool) -> None:
    auth = DigestAuthenticator(realm, SECRET)
    challenges = auth.challenge(T0, stale)
    nonce = parse_challenge_params(challenges[0])["nonce"]
    assert challenges == (
        build_challenge(realm, nonce, "SHA-256", stale),
        build_challenge(realm, nonce, "MD5", stale),
    )
    assert auth.nonces.check(nonce, T0) is NonceStatus.VALID


def test_nonce_memory_is_bounded_by_lifetime() -> None:
    nonces = NonceManager(SECRET, REALM, lifetime=300)
    for second in range(3_000):  # ten phones a second for fifty minutes
        for _ in range(10):
            assert nonces.record(nonces.issue(T0 + second), 1, T0 + second)
    assert len(nonces) <= 301 * 10


# -- the server -------------------------------------------------------------------------------


PASSWORDS = {"1001": "secret-1001", "1002": "secret-1002"}


def lookup(username: str, algorithm: str) -> str | None:
    password = PASSWORDS.get(username)
    return None if password is None else compute_ha1(username, REALM, password, algorithm)


def challenge_shape(values: tuple[str, ...]) -> list[dict[str, str]]:
    shapes = [parse_challenge_params(value) for value in values]
    assert len({shape["nonce"] for shape in shapes}) == 1
    return [{k: v for k, v in shape.items() if k != "nonce"} for shape in shapes]


def answer(
    challenge: str, username: str = "1001", password: str = "secret-1001", nc: int = 1
) -> str:
    return answer_challenge(
        challenge, username, "REGISTER", f"sip:{REALM}", password=password, nc=nc
    )


@pytest.fixture
def auth() -> DigestAuthenticator:
    return DigestAuthenticator(REALM, SECRET, lifetime=300)


def test_no_credentials_gives_both_challenges(auth: DigestAuthenticator) -> None:
    result = auth.authenticate(None, "REGISTER", lookup, T0)
    assert result.outcome is AuthOutcome.CHALLENGE
    assert not result.accepted and result.username is None
    assert challenge_shape(result.challenges) == [
        {"realm": REALM, "algorithm": "SHA-256", "qop": "auth"},
        {"realm": REALM, "algorithm": "MD5", "qop": "auth"},
    ]


def test_credentials_answering_a_fresh_challenge_of_ours_are_told_cheaply(
    auth: DigestAuthenticator,
) -> None:
    """What the overload screen asks: does a request finish work begun here? The nonce decides,
    not the digest (the full path checks that)."""
    challenge = auth.challenge(T0)[0]
    ours = answer(challenge, password="wrong")  # a wrong digest still answers our challenge
    assert auth.answers_fresh_challenge([ours], T0 + 10)
    assert auth.answers_fresh_challenge(["Basic abc", ours], T0 + 10)
    assert not auth.answers_fresh_challenge([ours], T0 + 301)  # stale
    made_up = challenge.replace(parse_challenge_params(challenge)["nonce"], "A" * 43)
    assert not auth.answers_fresh_challenge([answer(made_up)], T0 + 10)
    other_realm = DigestAuthenticator("elsewhere", SECRET).challenge(T0)[0]
    assert not auth.answers_fresh_challenge([answer(other_realm)], T0 + 10)
    assert not auth.answers_fresh_challenge(["Digest ,,,", "Basic abc"], T0 + 10)
    assert not auth.answers_fresh_challenge([], T0 + 10)


@pytest.mark.parametrize("index", [0, 1])
def test_register_accepted_then_replay_rejected(auth: DigestAuthenticator, index: int) -> None:
    challenge = auth.authenticate(None, "REGISTER", lookup, T0).challenges[index]
    header = answer(challenge)
    result = auth.authenticate(header, "REGISTER", lookup, T0 + 1)
    assert result.accepted and result.username == "1001"
    assert result.credentials is not None
    assert result.credentials.algorithm == ("SHA-256", "MD5")[index]

    replay = auth.authenticate(header, "REGISTER", lookup, T0 + 2)
    assert replay.outcome is AuthOutcome.CHALLENGE
    assert replay.reason == "nonce count replay"
    assert all(shape.get("stale") == "true" for shape in challenge_shape(replay.challenges))

    assert auth.authenticate(answer(challenge, nc=2), "REGISTER", lookup, T0 + 3).accepted
    assert not auth.authenticate(header, "INVITE", lookup, T0 + 4).accepted


def test_stale_nonce_with_right_password_says_stale(auth: DigestAuthenticator) -> None:
    challenge = auth.challenge(T0)[0]
    result = auth.authenticate(answer(challenge), "REGISTER", lookup, T0 + 301)
    assert result.outcome is AuthOutcome.CHALLENGE
    assert result.reason == "stale nonce"
    assert all(shape.get("stale") == "true" for shape in challenge_shape(result.challenges))

    fresh = result.challenges[0]
    assert auth.authenticate(answer(fresh), "REGISTER", lookup, T0 + 302).accepted


def test_stale_nonce_with_wrong_password_is_not_stale(auth: DigestAuthenticator) -> None:
    challenge = auth.challenge(T0)[0]
    header = answer(challenge, password="guess")
    result = auth.authenticate(header, "REGISTER", lookup, T0 + 301)
    assert result.outcome is AuthOutcome.CHALLENGE
    assert all("stale" not in shape for shape in challenge_shape(result.challenges))


def test_tampered_nonce(auth: DigestAuthenticator) -> None:
    nonce = auth.nonces.issue(T0)
    tampered = nonce[:-2] + ("AA" if nonce[-2:] != "AA" else "BA")
    header = answer(build_challenge(REALM, tampered, "SHA-256"))
    result = auth.authenticate(header, "REGISTER", lookup, T0)
    assert result.outcome is AuthOutcome.CHALLENGE
    assert result.reason == "invalid nonce"
    # RFC 7616 §3.3: the digest was right for that nonce, so the client may retry silently
    assert all(shape.get("stale") == "true" for shape in challenge_shape(result.challenges))


def test_unknown_user_and_wrong_password_look_the_same(auth: DigestAuthenticator) -> None:
    challenge = auth.challenge(T0)[0]
    wrong = auth.authenticate(answer(challenge, password="guess"), "REGISTER", lookup, T0 + 1)
    unknown = auth.authenticate(
        answer(challenge, username="1999", password="guess"), "REGISTER", lookup, T0 + 1
    )
    assert wrong.outcome is unknown.outcome is AuthOutcome.CHALLENGE
    assert challenge_shape(wrong.challenges) == challenge_shape(unknown.challenges)
    assert [len(v) for v in wrong.challenges] == [len(v) for v in unknown.challenges]
    assert (wrong.reason, unknown.reason) == ("wrong password", "unknown user")


def test_failed_attempt_does_not_use_up_the_count(auth: DigestAuthenticator) -> None:
    challenge = auth.challenge(T0)[1]
    forged = answer(challenge, password="guess", nc=0xFFFFFFFF)
    assert not auth.authenticate(forged, "REGISTER", lookup, T0).accepted
    assert auth.authenticate(answer(challenge), "REGISTER", lookup, T0).accepted


def test_other_realm_and_scheme_get_a_challenge(auth: DigestAuthenticator) -> None:
    foreign = answer(build_challenge("other.example", auth.nonces.issue(T0)))
    for header in [foreign, "Basic MTAwMTpzZWNyZXQ="]:
        result = auth.authenticate(header, "REGISTER", lookup, T0)
        assert result.outcome is AuthOutcome.CHALLENGE
        assert len(result.challenges) == 2


def test_malformed_credentials_are_a_bad_request(auth: DigestAuthenticator) -> None:
    header = answer(auth.challenge(T0)[0])
    no_uri = header.replace(f'uri="sip:{REALM}", ', "")
    for value in [no_uri, 'Digest username="1001", realm=', header.replace("nc=", "nc=x")]:
        result = auth.authenticate(value, "REGISTER", lookup, T0)
        assert result.outcome is AuthOutcome.BAD_REQUEST
        assert result.challenges == ()
        assert result.reason


def test_picks_our_realm_among_several_headers(auth: DigestAuthenticator) -> None:
    ours = answer(auth.challenge(T0)[0])
    theirs = answer(build_challenge("upstream.example", "x"))
    result = auth.authenticate([theirs, "Basic abc", ours], "INVITE", lookup, T0)
    assert not result.accepted  # the response was computed for REGISTER
    result = auth.authenticate([theirs, "Basic abc", ours], "REGISTER", lookup, T0)
    assert result.accepted


def test_algorithm_not_offered(auth: DigestAuthenticator) -> None:
    md5_only = DigestAuthenticator(REALM, SECRET, algorithms=("MD5",))
    assert challenge_shape(md5_only.challenge(T0)) == [
        {"realm": REALM, "algorithm": "MD5", "qop": "auth"}
    ]
    header = answer(build_challenge(REALM, md5_only.nonces.issue(T0), "SHA-256"))
    result = md5_only.authenticate(header, "REGISTER", lookup, T0)
    assert result.outcome is AuthOutcome.CHALLENGE
    with pytest.raises(ValueError):
        DigestAuthenticator(REALM, SECRET, algorithms=("SHA-512",))


def rfc2069_challenge(auth: DigestAuthenticator, algorithm: str = "MD5") -> dict[str, str]:
    return {"realm": REALM, "nonce": auth.nonces.issue(T0), "algorithm": algorithm}


def test_rfc2069_client_is_accepted_once_per_nonce(auth: DigestAuthenticator) -> None:
    header = answer_challenge(
        rfc2069_challenge(auth), "1001", "REGISTER", f"sip:{REALM}", password="secret-1001"
    )
    assert "qop" not in parse_challenge_params(header)
    assert auth.authenticate(header, "REGISTER", lookup, T0).accepted
    again = auth.authenticate(header, "REGISTER", lookup, T0 + 1)
    assert again.reason == "nonce count replay"
    assert all(shape.get("stale") == "true" for shape in challenge_shape(again.challenges))


def test_rfc2069_refused_when_disabled_or_with_sha256(auth: DigestAuthenticator) -> None:
    strict = DigestAuthenticator(REALM, SECRET, allow_rfc2069=False)
    md5 = answer_challenge(
        rfc2069_challenge(strict), "1001", "REGISTER", f"sip:{REALM}", password="secret-1001"
    )
    assert strict.authenticate(md5, "REGISTER", lookup, T0).reason == "credentials without qop"
    sha = answer_challenge(
        rfc2069_challenge(auth, "SHA-256"),
        "1001",
        "REGISTER",
        f"sip:{REALM}",
        password="secret-1001",
    )
    assert auth.authenticate(sha, "REGISTER", lookup, T0).reason == "credentials without qop"


def test_two_step_for_asynchronous_lookups(auth: DigestAuthenticator) -> None:
    parsed = auth.parse(answer(auth.challenge(T0)[0]), T0)
    assert isinstance(parsed, Credentials)
    ha1 = lookup(parsed.username, parsed.algorithm)
    assert auth.complete(parsed, ha1, "REGISTER", T0).accepted


def test_workers_with_their_own_scope_send_each_other_stale(auth: DigestAuthenticator) -> None:
    worker1 = DigestAuthenticator(REALM, SECRET, scope="node-a/1")
    worker2 = DigestAuthenticator(REALM, SECRET, scope="node-a/2")
    header = answer(worker1.challenge(T0)[0])
    assert worker1.authenticate(header, "REGISTER", lookup, T0).accepted
    replayed_elsewhere = worker2.authenticate(header, "REGISTER", lookup, T0)
    assert replayed_elsewhere.reason == "invalid nonce"


# -- round trip -------------------------------------------------------------------------------

text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)


@given(
    username=text,
    password=text,
    realm=text,
    uri=text.filter(bool),
    method=st.sampled_from(["REGISTER", "INVITE", "BYE", "OPTIONS", "SUBSCRIBE"]),
    algorithm=st.sampled_from(["MD5", "SHA-256"]),
    qop=st.booleans(),
    cnonce=text,
    nc=st.integers(1, 0xFFFFFFFF),
    opaque=st.none() | text,
)
def test_answer_challenge_verifies(
    username: str,
    password: str,
    realm: str,
    uri: str,
    method: str,
    algorithm: str,
    qop: bool,
    cnonce: str,
    nc: int,
    opaque: str | None,
) -> None:
    challenge = build_challenge(realm, 'nonce-\\"x', algorithm, opaque=opaque)
    params = parse_challenge_params(challenge)
    assert params["realm"] == realm
    assert params.get("opaque") == opaque
    if not qop:
        del params["qop"]
    header = answer_challenge(
        params, username, method, uri, password=password, cnonce=cnonce, nc=nc
    )
    credentials = Credentials.from_header(header)
    assert (credentials.username, credentials.realm, credentials.uri) == (username, realm, uri)
    assert credentials.nc == (nc if qop else None)
    ha1 = compute_ha1(username, realm, password, algorithm)
    assert verify(credentials, ha1, method)
    assert not verify(credentials, ha1, method + "X")
