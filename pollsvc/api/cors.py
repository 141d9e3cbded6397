"""Cross-origin access to the public API (``/api/v1``) for the origins in ``POLLSVC_CORS_ORIGINS``.

Written here rather than taken from flask-cors: its per-request work (matching resources by
regex, rebuilding every header list) cost about a fifth of a cached widget read in the profile;
this is the same policy with every header value computed once. Preflights are Flask's automatic
OPTIONS answers with the CORS headers added; the ops endpoints and pages never get them.
"""

from __future__ import annotations

from flask import Request, Response

API_PREFIX = "/api/v1/"
OEMBED_PATH = "/oembed"
"""The oEmbed provider is called from other sites' pages like the public API, with its policy."""
ALLOW_HEADERS = "Content-Type, X-Voter-Token, X-Poll-User, X-Poll-Receipt, Authorization"
EXPOSE_HEADERS = ("ETag, Location, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                  "X-Request-ID, X-Poll-Refresh")
MAX_AGE = "600"


class CorsPolicy:
    def __init__(self, origins: list[str] | str) -> None:
        self.any_origin = origins == "*"
        self.origins = frozenset(origins) if isinstance(origins, list) else frozenset()

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    def apply(self, request: Request, response: Response) -> None:
        """Add the CORS headers this API response needs (none for a foreign origin)."""
        headers = response.headers
        if not self.any_origin:
            # The answer depends on Origin even with a single allowed origin: a CDN must not
            # serve a response cached for one origin, or none, to another.
            merge_vary(response, "Origin")
        origin = request.headers.get("Origin")
        if origin is None or not self.allows(origin):
            return
        headers["Access-Control-Allow-Origin"] = "*" if self.any_origin else origin
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            headers["Access-Control-Allow-Methods"] = headers.get("Allow", "GET, POST, PATCH, DELETE, OPTIONS")
            headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            headers["Access-Control-Max-Age"] = MAX_AGE
        else:
            headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS


def covers(path: str) -> bool:
    """Whether the answer to ``path`` gets the CORS headers."""
    return path.startswith(API_PREFIX) or path == OEMBED_PATH


def merge_vary(response: Response, name: str) -> None:
    """Add ``name`` to the response's Vary: one header, no name twice (case-insensitively)."""
    values = response.headers.getlist("Vary")
    if not values:
        response.headers["Vary"] = name
        return
    names = [v.strip() for value in values for v in value.split(",") if v.strip()]
    if name.lower() not in {n.lower() for n in names}:
        names.append(name)
    response.headers["Vary"] = ", ".join(dict.fromkeys(names))
