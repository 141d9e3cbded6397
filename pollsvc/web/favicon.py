"""``/favicon.ico``: browsers ask for it on every page, the embed pages' parents included.

A real ICO (the console's ``favicon.svg`` drawn at 16, 32 and 48 px, PNG inside), cached for a day.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request

bp = Blueprint("favicon", __name__)

ICON = Path(__file__).parent / "static" / "favicon.ico"
CACHE = "public, max-age=86400"


@bp.get("/favicon.ico")
def favicon() -> Response:
    response = Response(ICON.read_bytes(), mimetype="image/vnd.microsoft.icon")
    response.add_etag()
    response.headers["Cache-Control"] = CACHE
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.make_conditional(request)
    return response
