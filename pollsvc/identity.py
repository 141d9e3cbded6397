"""Who is voting: voter tokens, user assertions, the client IP behind proxies, keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

from pollsvc.errors import ApiError

TOKEN_SALT = "pollsvc.voter-token.v1"
MAX_TOKEN_LENGTH = 200
USER_ID = re.compile(r"^[A-Za-z0-9._\-@]{1,128}$")
USER_ASSERTION = re.compile(r"^([A-Za-z0-9._\-@]{1,128}):([0-9]{1,12}):([0-9A-Fa-f]{64})$")

DEDUP_KINDS: dict[str, tuple[str, ...]] = {
    "token": ("token",),
    "ip": ("ip",),
    "token_and_ip": ("token", "ip"),
    "user": ("user",),
}


@dataclass(frozen=True)
class RequestIdentity:
    """The identities sent with one request, each already verified (None when absent or bad)."""

    voter_id: str | None
    user_id: str | None
    client_ip: str


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=TOKEN_SALT)


def issue_voter_token(secret: str) -> str:
    return str(_serializer(secret).dumps(secrets.token_urlsafe(16)))


def read_voter_token(secret: str, token: str | None) -> str | None:
    """The voter id inside a signed token, or None if the token is absent, forged or garbled."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    serializer = _serializer(secret)
    try:
        voter_id = serializer.loads(token)
    except (BadSignature, UnicodeError, ValueError):
        return None
    if not isinstance(voter_id, str) or not 8 <= len(voter_id) <= 64:
        return None
    # base64 is lenient about the unused low bits of its last character, so one signature has
    # several spellings; only the one the server issued is a token.
    if not hmac.compare_digest(str(serializer.dumps(voter_id)).encode(), token.encode("utf-8", "replace")):
        return None
    return voter_id


def sign_user_assertion(secret: str, user_id: str, expires_at: int) -> str:
    """What a host site sends as ``X-Poll-User`` for a logged-in reader (used by tests and docs)."""
    message = f"{user_id}:{expires_at}".encode("ascii")
    return f"{user_id}:{expires_at}:" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def read_user_assertion(secret: str, header: str | None, now: float) -> str | None:
    """The user id of a valid, unexpired ``X-Poll-User`` assertion, else None."""
    if not secret or not header or len(header) > 300:
        return None
    match = USER_ASSERTION.match(header.strip())
    if not match:
        return None
    user_id, expiry, signature = match.groups()
    if int(expiry) <= now:
        return None
    expected = hmac.new(secret.encode(), f"{user_id}:{expiry}".encode("ascii"), hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), signature.lower()):
        return None
    return user_id


def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The N-th ``X-Forwarded-For`` entry from the right behind N trusted proxies, else the peer.

    No other header (X-Real-IP, Forwarded, CF-Connecting-IP) is ever read.
    """
    peer = remote_addr or "0.0.0.0"
    if trusted_proxies <= 0 or not forwarded_for:
        return peer
    entries = [e.strip() for e in forwarded_for.split(",") if e.strip()]
    if len(entries) < trusted_proxies:
        return peer
    candidate = entries[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def ip_dedup_subject(ip: str) -> str:
    """The part of an address that identifies a voter: IPv4 whole, IPv6 by its /64."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def keyed_hash(secret: str, kind: str, value: str) -> bytes:
    """HMAC-SHA256 of an identity, so the database holds no IP, token or user id in clear."""
    return hmac.new(secret.encode(), f"{kind}\x00{value}".encode(), hashlib.sha256).digest()


def ballot_keys_for(
    dedup: str, ident: RequestIdentity, secret: str, *, strict: bool
) -> list[tuple[str, bytes]] | None:
    """The (kind, hash) pairs this poll's dedup uses for this request.

    ``strict`` (votes) raises the contract's 400s for a needed identity that is missing or bad;
    otherwise (reads) such a request simply has no identity and None is returned.
    """
    keys: list[tuple[str, bytes]] = []
    for kind in DEDUP_KINDS[dedup]:
        if kind == "token":
            if ident.voter_id is None:
                if strict:
                    raise ApiError("invalid_voter_token")
                return None
            keys.append(("token", keyed_hash(secret, "token", ident.voter_id)))
        elif kind == "user":
            if ident.user_id is None:
                if strict:
                    raise ApiError("invalid_user_assertion")
                return None
            keys.append(("user", keyed_hash(secret, "user", ident.user_id)))
        else:
            keys.append(("ip", keyed_hash(secret, "ip", ip_dedup_subject(ident.client_ip))))
    return keys


def current_client_ip() -> str:
    cached = g.get("client_ip")
    if cached is None:
        cached = client_ip(
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            current_app.extensions["pollsvc"].settings.trusted_proxies,
        )
        g.client_ip = cached
    return str(cached)


def current_identity() -> RequestIdentity:
    runtime = current_app.extensions["pollsvc"]
    settings = runtime.settings
    return RequestIdentity(
        voter_id=read_voter_token(settings.secret_key, request.headers.get("X-Voter-Token")),
        user_id=read_user_assertion(settings.user_assertion_secret, request.headers.get("X-Poll-User"),
                                    runtime.now().timestamp()),
        client_ip=current_client_ip(),
    )


def rate_limit_key() -> str:
    """Rate limits are per client IP (IPv6 per /64, so one host cannot rotate addresses)."""
    return ip_dedup_subject(current_client_ip())
