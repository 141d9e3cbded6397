"""The rate limits of the public endpoints, read from settings at request time."""

from __future__ import annotations

from pollsvc.api.auth import has_authorization
from pollsvc.extensions import limiter
from pollsvc.runtime import runtime

vote_limit = limiter.limit(lambda: runtime().settings.rate_limit_vote, scope="votes")
voters_limit = limiter.limit(lambda: runtime().settings.rate_limit_voters, scope="voters")
public_read_limit = limiter.shared_limit(
    lambda: runtime().settings.rate_limit_public_read, scope="public_read", exempt_when=has_authorization
)
