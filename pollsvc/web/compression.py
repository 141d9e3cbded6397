"""Compressed responses (``br``, else ``gzip``) for clients that accept them.

What is compressed: successful GET/HEAD answers of text-like types (scripts, styles, pages,
JSON, SVG, CSV, metrics) of at least ``MIN_SIZE`` bytes with a known length (not streams).
Below about a kilobyte the saving is less than one TCP segment while the work is not free;
votes (POST) are never compressed.

Each compressed body is kept, keyed by the digest of its bytes, in a small per-process memory
(``CompressedBodies``): most answers are the same bytes again and again (widget.js, static files,
the shared public poll reads until their counts move), so a repeat costs a hash and a dict look-up
(about 2 µs for a poll read) instead of compressing again (br 27 µs, gzip 11 µs for an 840-byte read).

Validators: a compressed answer is another representation, so its strong ETag gets the coding as
a suffix (``"abc:br"``), as Apache does. A client revalidating with ``If-None-Match: "abc:br"``
has that suffix taken off before the view runs, so every view's own ETag check (the poll reads'
``cacheable()``, widget.js, static files) answers its cheap 304 as usual; the 304 then carries the
ETag the client holds. ``Vary: Accept-Encoding`` is merged into the Vary the view set.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections import OrderedDict
from functools import lru_cache

import brotli
from flask import Flask, Response, g, request
from werkzeug.http import parse_accept_header

from pollsvc.api.cors import merge_vary

MIN_SIZE = 1024
MAX_SIZE = 4 * 1024 * 1024
"""Larger answers (none today) are sent as they are rather than held in memory to compress."""
CODINGS = ("br", "gzip")
"""In order of preference when a client accepts both equally."""
COMPRESSIBLE = frozenset({
    "text/javascript", "application/javascript", "text/css", "text/html", "text/plain", "text/csv",
    "application/json", "image/svg+xml", "application/xml", "text/xml",
})
STATIC_TYPES = frozenset({"text/javascript", "application/javascript", "text/css", "image/svg+xml"})
"""Files that change only with a deploy: compressed once at the highest level."""
MEMORY_BYTES = 16 * 1024 * 1024
CODED_ETAG = re.compile(r'"([^"]*):(br|gzip)"')


def _compress(data: bytes, coding: str, static: bool) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(data, quality=11 if static else 5))
    return gzip.compress(data, compresslevel=9 if static else 6, mtime=0)


class CompressedBodies:
    """Compressed bodies by (coding, digest of the identity bytes), least recently used first out,
    at most ``limit`` bytes in all."""

    def __init__(self, limit: int = MEMORY_BYTES) -> None:
        self.limit = limit
        self._entries: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, data: bytes, coding: str, static: bool) -> bytes:
        key = (coding, hashlib.blake2b(data, digest_size=16).digest())
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        compressed = _compress(data, coding, static)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = compressed
                self._size += len(compressed)
                while self._size > self.limit and self._entries:
                    self._size -= len(self._entries.popitem(last=False)[1])
        return compressed


@lru_cache(maxsize=256)
def choose_coding(accept_encoding: str) -> str | None:
    """The coding to use for this ``Accept-Encoding`` (q-values and ``*`` honoured; None: identity).
    Browsers send a handful of distinct values: each is parsed once."""
    return parse_accept_header(accept_encoding).best_match(CODINGS)



def _uncode_if_none_match() -> None:
    """``"abc:br"`` -> ``"abc"`` in If-None-Match, remembering which coding each ETag had."""
    value = request.environ.get("HTTP_IF_NONE_MATCH")
    if not value or ":" not in value:
        return
    codings: dict[str, str] = {}

    def strip(match: re.Match[str]) -> str:
        codings[match[1]] = match[2]
        return f'"{match[1]}"'

    request.environ["HTTP_IF_NONE_MATCH"] = CODED_ETAG.sub(strip, value)
    g.etag_codings = codings


def _not_modified(response: Response) -> Response:
    """A 304 names the representation the client holds: the coded ETag it sent."""
    codings: dict[str, str] | None = g.get("etag_codings")
    etag, weak = response.get_etag()
    if codings and etag and not weak and etag in codings:
        response.set_etag(f"{etag}:{codings[etag]}")
    if response.mimetype in COMPRESSIBLE:
        merge_vary(response, "Accept-Encoding")
    return response


def compress_response(response: Response, bodies: CompressedBodies) -> Response:
    if response.status_code == 304:
        return _not_modified(response)
    if (response.status_code != 200 or request.method not in ("GET", "HEAD")
            or response.mimetype not in COMPRESSIBLE or "Content-Encoding" in response.headers):
        return response
    length = response.content_length
    if length is None and response.is_streamed:
        return response  # a stream of unknown length is sent as it comes
    merge_vary(response, "Accept-Encoding")
    if length is not None and not MIN_SIZE <= length <= MAX_SIZE:
        return response
    coding = choose_coding(request.headers.get("Accept-Encoding", ""))
    if coding is None:
        return response
    response.direct_passthrough = False  # a file from send_file: read it (bounded by MAX_SIZE)
    data = response.get_data()
    if len(data) < MIN_SIZE:
        return response
    response.set_data(bodies.get(data, coding, response.mimetype in STATIC_TYPES))
    response.headers["Content-Encoding"] = coding
    response.headers.pop("Accept-Ranges", None)  # ranges would be of the identity bytes
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(f"{etag}:{coding}")
    return response


def install(app: Flask) -> None:
    bodies = CompressedBodies()
    app.before_request(_uncode_if_none_match)

    @app.after_request
    def _compress_after(response: Response) -> Response:
        return compress_response(response, bodies)
