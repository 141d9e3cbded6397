"""Who is calling: the client IP behind the trusted proxies, the identities and receipts a request
carries, and the key its rate limits count on. Read once per request and kept in ``flask.g``."""

from __future__ import annotations

from datetime import datetime

from flask import g, request

from pollsvc.identity import (
    RequestIdentity,
    client_ip,
    ip_dedup_subject,
    network_hash,
    read_receipts,
    read_user_assertion,
    read_voter_passes,
    read_voter_token,
)
from pollsvc.runtime import runtime
from pollsvc.services.reads import Caller
from pollsvc.services.store import BallotSignals


def client_address() -> str:
    cached: str | None = g.get("client_ip")
    if cached is None:
        cached = client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"),
                           runtime().settings.trusted_proxies)
        g.client_ip = cached
    return cached


def rate_limit_key() -> str:
    """Limits count per client IP (IPv6 per /64, so one host cannot rotate addresses)."""
    return ip_dedup_subject(client_address())


def request_identity() -> RequestIdentity:
    cached: RequestIdentity | None = g.get("identity")
    if cached is None:
        rt = runtime()
        settings = rt.settings
        headers = request.headers
        user_header = headers.get("X-Poll-User")
        token = headers.get("X-Voter-Token")
        cached = RequestIdentity(
            voter=read_voter_token(settings.secret_key, token, rt.now().timestamp(), settings.voter_token_max_age)
            if token else None,
            user_id=read_user_assertion(settings.user_assertion_secret, user_header, rt.now().timestamp())
            if user_header else None,
            client_ip=client_address(),
        )
        g.identity = cached
    return cached


def client_network() -> bytes:
    """The keyed hash of the client's /24 (IPv4) or /48 (IPv6)."""
    cached: bytes | None = g.get("client_network")
    if cached is None:
        cached = g.client_network = network_hash(runtime().settings.secret_key, client_address())
    return cached


def ballot_signals(identity: RequestIdentity, now: datetime) -> BallotSignals:
    """What the integrity report keeps of a vote: the network, and the voter token's origin and age."""
    voter = identity.voter
    return BallotSignals(network_hash=client_network(),
                         token_network=voter.network if voter else None,
                         token_age=max(0, int(now.timestamp()) - voter.issued_at) if voter else None)


def read_caller() -> Caller:
    """The reader: identities, the receipts of ``X-Poll-Receipt`` and the ``voter_pass`` parameter."""
    receipts = request.headers.get("X-Poll-Receipt")
    return Caller(request_identity(), read_receipts(runtime().settings.secret_key, receipts) if receipts else {},
                  read_voter_passes(request.args.get("voter_pass")))
