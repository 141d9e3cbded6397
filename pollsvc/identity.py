"""Who is voting: voter tokens, user assertions, client IPs, keyed hashes and vote receipts.

Pure functions of their arguments (no Flask, no HTTP errors): ``pollsvc.api.caller`` reads them
off a request, and the services decide what a missing identity means.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, base64_encode

TOKEN_SALT = "pollsvc.voter-token.v2"
MAX_TOKEN_LENGTH = 200
NETWORK_TAG_BYTES = 6
"""A network's label: the first bytes of its keyed hash (12 hex digits), in tokens and reports."""
USER_ASSERTION = re.compile(r"^([A-Za-z0-9._\-@]{1,128}):([0-9]{1,12}):([0-9A-Fa-f]{64})$")

DEDUP_KINDS: dict[str, tuple[str, ...]] = {
    "token": ("token",),
    "ip": ("ip",),
    "token_and_ip": ("token", "ip"),
    "user": ("user",),
}
"""The identity dimensions each dedup policy keys a ballot by."""

BallotKeys = Sequence[tuple[str, bytes]]
"""(kind, keyed hash) pairs: what ``ballot_keys`` holds under its primary key."""


@dataclass(frozen=True, slots=True)
class VoterToken:
    """What a valid voter token says: who, since when, and from which network it was minted."""

    voter_id: str
    issued_at: int
    """Unix seconds."""
    network: str
    """The minting network's label (``network_label``)."""


@dataclass(frozen=True, slots=True)
class RequestIdentity:
    """The identities sent with one request, each already verified (None when absent, bad or
    expired)."""

    voter: VoterToken | None
    user_id: str | None
    client_ip: str

    @property
    def voter_id(self) -> str | None:
        return None if self.voter is None else self.voter.voter_id


class MissingIdentity(Exception):
    """The poll's dedup needs an identity (``token`` or ``user``) that the request lacks."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _ClockSigner(TimestampSigner):
    """itsdangerous's timestamp signer on the caller's clock (the app's, which tests control)."""

    def __init__(self, *args: object, now: float | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.now = now

    def get_timestamp(self) -> int:
        return int(self.now) if self.now is not None else super().get_timestamp()


def _serializer(secret: str, now: float) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=TOKEN_SALT, signer=_ClockSigner, signer_kwargs={"now": now})


def issue_voter_token(secret: str, now: float, network: str = "") -> str:
    """A new voter identity, stamped with ``now`` and the label of the network that minted it."""
    return str(_serializer(secret, now).dumps([secrets.token_urlsafe(16), network]))


def read_voter_token(secret: str, token: str | None, now: float, max_age: int) -> VoterToken | None:
    """What a signed token says, or None if it is absent, forged, garbled or older than ``max_age``."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload, issued = _serializer(secret, now).loads(token, max_age=max_age, return_timestamp=True)
    except (BadSignature, UnicodeError, ValueError, TypeError):
        return None
    if not (isinstance(payload, list) and len(payload) == 2 and all(isinstance(p, str) for p in payload)):
        return None
    voter_id, network = payload
    if not 8 <= len(voter_id) <= 64 or len(network) > 2 * NETWORK_TAG_BYTES:
        return None
    # base64 is lenient about the unused low bits of its last character, so one signature has
    # several spellings; only the one the server issued (canonical base64 in each part) is a token.
    if not all(base64_encode(base64_decode(part)) == part.encode() for part in token.split(".")):
        return None
    return VoterToken(voter_id, int(issued.timestamp()), network)


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


def network_of(ip: str) -> str:
    """The network an address belongs to, for integrity signals: IPv4 /24, IPv6 /48."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if isinstance(address, ipaddress.IPv4Address) else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def network_hash(secret: str, ip: str) -> bytes:
    """The keyed hash of an address's network (never stored in clear); its first bytes label it."""
    return keyed_hash(secret, "net", network_of(ip))[:16]


def network_label(hashed: bytes) -> str:
    return hashed[:NETWORK_TAG_BYTES].hex()


def ip_dedup_subject(ip: str) -> str:
    """The part of an address that identifies a voter: IPv4 whole, IPv6 by its /64."""
    if "." in ip and ":" not in ip:
        return ip  # IPv4, already validated by the server or ``client_ip``: the common case, fast
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


def identity_key(kind: str, ident: RequestIdentity, secret: str) -> bytes | None:
    """The keyed hash of one identity dimension of this request, None when it was not sent."""
    if kind == "token":
        return None if ident.voter_id is None else keyed_hash(secret, "token", ident.voter_id)
    if kind == "user":
        return None if ident.user_id is None else keyed_hash(secret, "user", ident.user_id)
    return keyed_hash(secret, "ip", ip_dedup_subject(ident.client_ip))


def ballot_keys(dedup: str, ident: RequestIdentity, secret: str) -> list[tuple[str, bytes]]:
    """The (kind, hash) pairs this poll's dedup uses for this request.

    Raises ``MissingIdentity`` when a needed token or user assertion is absent (or was invalid).
    """
    keys = []
    for kind in DEDUP_KINDS[dedup]:
        key = identity_key(kind, ident, secret)
        if key is None:
            raise MissingIdentity(kind)
        keys.append((kind, key))
    return keys


# ---- vote receipts ----
#
# A receipt is the server's signed statement "the identity whose key starts with TAG has a ballot
# in poll P". The widget keeps the receipts of its own votes and sends them with its reads, so a
# reader who has voted gets ``has_voted`` (and results) without a database lookup: the answer is
# the same for every voter of the poll, and the server serialises it once per snapshot.

RECEIPT_KIND_CODES = {"token": "t", "ip": "i", "user": "u"}
_RECEIPT_KINDS = {code: kind for kind, code in RECEIPT_KIND_CODES.items()}
RECEIPT_TAG_BYTES = 12
MAX_RECEIPTS = 20
_RECEIPT = re.compile(r"^([0-9]{1,10})\.([tiu])\.([A-Za-z0-9_\-]{16})\.([A-Za-z0-9_\-]{16})$")


@dataclass(frozen=True, slots=True)
class Receipt:
    poll_id: int
    kind: str
    tag: bytes
    """The first bytes of the ballot key it vouches for; an ``ip`` receipt holds only for that IP."""

    def matches(self, key: bytes) -> bool:
        return hmac.compare_digest(self.tag, key[:RECEIPT_TAG_BYTES])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _receipt_mac(secret: str, poll_id: int, kind: str, tag: bytes) -> bytes:
    message = f"pollsvc.receipt.v1\x00{poll_id}\x00{kind}\x00".encode() + tag
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:12]


VOTER_PASS_LENGTH = 16
MAX_VOTER_PASSES = 20


def voter_pass(secret: str, poll_id: int) -> str:
    """The poll's voter pass: one value for every voter of the poll, so that their live re-reads
    (``?voter_pass=``) are one shared, cacheable URL instead of one private read per voter. It
    shows what a voter sees (the counts of an ``after_vote`` poll) to whoever holds it."""
    return _b64(keyed_hash(secret, "voter-pass", str(poll_id)))[:VOTER_PASS_LENGTH]


def read_voter_passes(value: str | None) -> frozenset[str]:
    """The passes of a ``voter_pass`` query parameter (dot separated); checked per poll by the reader."""
    if not value or len(value) > MAX_VOTER_PASSES * (VOTER_PASS_LENGTH + 1):
        return frozenset()
    return frozenset(p for p in value.split(".") if len(p) == VOTER_PASS_LENGTH)


def issue_receipt(secret: str, poll_id: int, kind: str, key: bytes) -> str:
    tag = key[:RECEIPT_TAG_BYTES]
    return f"{poll_id}.{RECEIPT_KIND_CODES[kind]}.{_b64(tag)}.{_b64(_receipt_mac(secret, poll_id, kind, tag))}"


def read_receipts(secret: str, header: str | None) -> dict[int, list[Receipt]]:
    """The valid receipts of an ``X-Poll-Receipt`` header (comma or space separated), by poll.

    Forged, garbled or surplus entries are ignored: a receipt only ever adds knowledge.
    """
    found: dict[int, list[Receipt]] = {}
    if not header or len(header) > MAX_RECEIPTS * 64:
        return found
    for text in header.replace(",", " ").split()[:MAX_RECEIPTS]:
        match = _RECEIPT.match(text)
        if not match:
            continue
        poll_text, code, tag_text, mac_text = match.groups()
        try:
            tag = base64.urlsafe_b64decode(tag_text + "==")
            mac = base64.urlsafe_b64decode(mac_text + "==")
        except (binascii.Error, ValueError):
            continue
        poll_id, kind = int(poll_text), _RECEIPT_KINDS[code]
        if _b64(tag) == tag_text and hmac.compare_digest(mac, _receipt_mac(secret, poll_id, kind, tag)):
            found.setdefault(poll_id, []).append(Receipt(poll_id, kind, tag))
    return found


def receipt_proves_vote(receipts: Sequence[Receipt], dedup: str, ident: RequestIdentity, secret: str) -> bool:
    """Whether one of a poll's receipts shows that a vote with this request's identity is refused.

    A token or user receipt stands for the identity that voted when the request does not carry
    that kind of identity itself (the widget reads with receipts, not tokens); when it does, the
    receipt must be that identity's (a shared browser: another signed-in reader). An ``ip``
    receipt holds only while the request comes from the same address.
    """
    kinds = DEDUP_KINDS[dedup]
    for receipt in receipts:
        if receipt.kind not in kinds:
            continue
        key = identity_key(receipt.kind, ident, secret)
        if key is None or receipt.matches(key):
            return True
    return False
