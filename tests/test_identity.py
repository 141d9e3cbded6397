"""Identity primitives: client IP behind proxies, keyed hashes, tokens, assertions, CSV cells."""

from __future__ import annotations

import pytest

from pollsvc.identity import (
    client_ip,
    ip_dedup_subject,
    issue_voter_token,
    keyed_hash,
    read_user_assertion,
    read_voter_token,
    sign_user_assertion,
)
from pollsvc.services.results import _safe_cell


@pytest.mark.parametrize(("peer", "xff", "trusted", "expected"), [
    ("10.0.0.1", None, 0, "10.0.0.1"),
    ("10.0.0.1", "1.2.3.4", 0, "10.0.0.1"),
    ("10.0.0.1", "1.2.3.4", 1, "1.2.3.4"),
    ("10.0.0.1", "6.6.6.6, 1.2.3.4", 1, "1.2.3.4"),
    ("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", 2, "1.2.3.4"),
    ("10.0.0.1", "1.2.3.4", 2, "10.0.0.1"),
    ("10.0.0.1", "not-an-ip", 1, "10.0.0.1"),
    ("10.0.0.1", " 2001:db8::1 ", 1, "2001:db8::1"),
])
def test_client_ip_behind_trusted_proxies(peer: str, xff: str | None, trusted: int, expected: str) -> None:
    assert client_ip(peer, xff, trusted) == expected


def test_ipv6_is_keyed_by_its_64_and_mapped_ipv4_by_the_ipv4() -> None:
    assert ip_dedup_subject("2001:db8:0:1::5") == ip_dedup_subject("2001:db8:0:1:ffff::1") == "2001:db8:0:1::/64"
    assert ip_dedup_subject("::ffff:192.0.2.1") == "192.0.2.1"
    assert ip_dedup_subject("192.0.2.1") == "192.0.2.1"


def test_keyed_hash_depends_on_secret_and_kind_and_hides_the_value() -> None:
    digest = keyed_hash("s1", "ip", "192.0.2.1")
    assert len(digest) == 32 and b"192.0.2.1" not in digest
    assert digest != keyed_hash("s2", "ip", "192.0.2.1")
    assert digest != keyed_hash("s1", "token", "192.0.2.1")


NOW = 1_790_000_000.0
DAY = 86_400


def test_voter_tokens_round_trip_and_resist_tampering() -> None:
    token = issue_voter_token("secret", NOW, "a1b2c3d4e5f6")
    voter = read_voter_token("secret", token, NOW + 5, DAY)
    assert voter is not None and voter.issued_at == int(NOW) and voter.network == "a1b2c3d4e5f6"
    assert read_voter_token("other", token, NOW, DAY) is None
    assert read_voter_token("secret", token[:-1] + ("A" if token[-1] != "A" else "B"), NOW, DAY) is None
    assert read_voter_token("secret", "x" * 10_000, NOW, DAY) is None
    assert read_voter_token("secret", None, NOW, DAY) is None


def test_voter_tokens_expire() -> None:
    token = issue_voter_token("secret", NOW)
    assert read_voter_token("secret", token, NOW + DAY, DAY) is not None
    assert read_voter_token("secret", token, NOW + DAY + 1, DAY) is None
    assert read_voter_token("secret", token, NOW - 60, DAY) is None  # made in the future: refused too


def test_user_assertions() -> None:
    header = sign_user_assertion("k", "a.b-c_d@e", 2000)
    assert read_user_assertion("k", header, 1999) == "a.b-c_d@e"
    assert read_user_assertion("k", header, 2000) is None  # expiry must be in the future
    assert read_user_assertion("", header, 1000) is None
    assert read_user_assertion("k2", header, 1000) is None
    assert read_user_assertion("k", header.upper().replace("A.B-C_D@E", "a.b-c_d@e"), 1000) == "a.b-c_d@e"


@pytest.mark.parametrize(("cell", "safe"), [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("x=1", "x=1"), (12, "12")])
def test_csv_cells_that_start_like_formulas_are_neutralised(cell: object, safe: str) -> None:
    assert _safe_cell(cell) == safe


def test_only_the_issued_spelling_of_a_token_is_a_token() -> None:
    """base64 ignores the unused low bits of its last character: a token with another last
    character decodes to the same signature, but is not the token the server issued (it would
    be a second ballot key for one voter otherwise)."""
    import string

    from itsdangerous.encoding import base64_decode

    from pollsvc.identity import issue_voter_token, read_voter_token

    token = issue_voter_token("secret", NOW)
    assert read_voter_token("secret", token, NOW, DAY) is not None
    parts = token.split(".")
    alphabet = string.ascii_letters + string.digits + "-_"
    twins = []
    for index, part in enumerate(parts):
        for c in alphabet:
            if c != part[-1] and base64_decode(part[:-1] + c) == base64_decode(part):
                twins.append(".".join([*parts[:index], part[:-1] + c, *parts[index + 1:]]))
    assert twins, "no lenient spelling found to test with"
    assert [read_voter_token("secret", twin, NOW, DAY) for twin in twins] == [None] * len(twins)
