"""/demo: a sample Vietnamese news article with the widget at its end (``pollsvc serve --demo``)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from pollsvc.demo import DEMO_ARTICLE_ID
from pollsvc.web.widget import asset_url, page, widget_url

bp = Blueprint("demo", __name__, template_folder="templates")

DEMO_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "connect-src 'self'; frame-ancestors 'self'")


@bp.get("/demo")
def demo() -> Response:
    """The demo article; its poll is seeded by ``pollsvc serve --demo``."""
    html = render_template("widget/demo.html", article_id=DEMO_ARTICLE_ID, widget_src=widget_url(), asset_url=asset_url)
    return page(html, DEMO_CSP)
