"""/admin (the editors' console) and /dashboard (reporting).

Both pages are static shells: their scripts call ``/api/v1`` with the API key the user signs in
with (kept in ``sessionStorage``). Texts come from ``static/console/i18n.json``: the server renders
the page's own labels from it and hands the page's language to the scripts in ``data-i18n``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static/console",
               static_url_path="/console-static")

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
MESSAGES_FILE = Path(__file__).parent / "static" / "console" / "i18n.json"
DESCRIPTIONS = {  # <meta name="description"> of each section's pages
    "console": {
        "vi": "Trang quản trị pollsvc: tạo, sửa, lên lịch, đóng và lưu trữ các cuộc bình chọn của bài viết.",
        "en": "The pollsvc console: create, edit, schedule, close and archive the polls of articles.",
    },
    "dashboard": {
        "vi": "Báo cáo pollsvc: số người tham gia, kết quả và lượt bình chọn theo thời gian của từng cuộc bình chọn.",
        "en": "pollsvc reports: participants, results and votes over time of each poll.",
    },
}


@functools.cache
def messages() -> dict[str, dict[str, str]]:
    """``{"vi": {key: text}, "en": {...}}``."""
    data: dict[str, dict[str, str]] = json.loads(MESSAGES_FILE.read_text("utf-8"))
    return data


def page_language() -> str:
    lang = request.args.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _render(template: str, section: str, **context: Any) -> str:
    lang = page_language()
    other = "en" if lang == "vi" else "vi"
    args = {**request.args.to_dict(), "lang": other}
    texts = messages()[lang]
    return render_template(
        f"console/{template}",
        lang=lang,
        t=texts,
        i18n_json=json.dumps(texts, ensure_ascii=False),
        section=section,
        description=DESCRIPTIONS[section][lang],
        lang_query="" if lang == DEFAULT_LANGUAGE else f"?lang={lang}",
        switch_url=f"{request.path}?{urlencode(args)}",
        switch_lang=other,
        switch_name=messages()[other]["lang_name"],
        **context,
    )


@bp.get("/admin")
def admin() -> str:
    """The editors' console: sign in, list, create, edit, close and archive polls."""
    return _render("admin.html", "console")


@bp.get("/dashboard")
def dashboard() -> str:
    """Reporting: polls ranked by participants; ``?poll=ID`` shows one poll's results."""
    poll = request.args.get("poll", "")
    return _render("dashboard.html", "dashboard", poll_id=poll if poll.isdigit() else "")


@bp.get("/dashboard/polls/<int:poll_id>")
def dashboard_poll(poll_id: int) -> str:
    return _render("dashboard.html", "dashboard", poll_id=str(poll_id))


@bp.after_request
def _security_headers(response: Response) -> Response:
    """Same-origin scripts only, never framed (pages and their static files alike)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-cache"
    return response
