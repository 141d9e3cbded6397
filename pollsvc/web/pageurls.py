"""The scheme and host the reader used to reach this service, for absolute links in pages
(``og:url``, the oEmbed discovery link).

The host is the request's ``Host`` header. The scheme is the request's own, or, behind
``POLLSVC_TRUSTED_PROXIES`` proxies, the ``X-Forwarded-Proto`` that the outermost trusted proxy
set (counted from the right, as for ``X-Forwarded-For``): a proxy that ends TLS forwards plain
http, while the reader's page was https. No other forwarded header is trusted.
"""

from __future__ import annotations

from flask import request

from pollsvc.runtime import runtime

SCHEMES = ("http", "https")


def public_scheme() -> str:
    trusted = runtime().settings.trusted_proxies
    forwarded = request.headers.get("X-Forwarded-Proto")
    if trusted > 0 and forwarded:
        entries = [entry.strip().lower() for entry in forwarded.split(",")]
        candidate = entries[-trusted] if len(entries) >= trusted else ""
        if candidate in SCHEMES:
            return candidate
    return request.scheme


def public_base() -> str:
    """``https://polls.example`` (no trailing slash)."""
    return f"{public_scheme()}://{request.host}"
