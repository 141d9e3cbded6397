"""``pollsvc serve --demo``: one Vietnamese sample article poll, seeded once, and one admin key,
kept in the instance folder (0600) so that every start prints the same key instead of adding one."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from pollsvc.models import Poll
from pollsvc.services import DbSession
from pollsvc.services.apikeys import create_key, verify_key
from pollsvc.services.polls import create_poll

DEMO_ARTICLE_ID = "hoi-nghi-ket-luan-57"
DEMO_POLL = {
    "article_id": DEMO_ARTICLE_ID,
    "question": "Bạn đánh giá thế nào về việc triển khai Kết luận số 57 tại huyện Quảng Ninh?",
    "description": "Ý kiến của bạn giúp chúng tôi phản ánh đúng tiếng nói của người dân.",
    "options": [
        {"label": "Rất thiết thực"},
        {"label": "Thiết thực"},
        {"label": "Cần cụ thể hơn"},
        {"label": "Chưa có ý kiến"},
    ],
    "results_visibility": "after_vote",
    "dedup": "token",
}


DEMO_KEY_FILE = "demo_api_key"


def seed_demo(session: DbSession, now: datetime, instance_path: str | Path) -> tuple[str, int]:
    """Create the demo poll unless it exists; the demo admin key, made on the first start and
    given again while it is active (a revoked or expired one is replaced)."""
    poll_id = session.scalar(
        select(Poll.id).where(Poll.article_id == DEMO_ARTICLE_ID).order_by(Poll.id).limit(1)
    )
    if poll_id is None:
        poll_id = create_poll(session, None, dict(DEMO_POLL), now).id
    return demo_key(session, now, Path(instance_path) / DEMO_KEY_FILE), poll_id


def demo_key(session: DbSession, now: datetime, path: Path) -> str:
    kept = path.read_text().strip() if path.exists() else ""
    if kept and verify_key(session, kept, now) is not None:
        return kept
    key = create_key(session, "admin", "demo", now)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
