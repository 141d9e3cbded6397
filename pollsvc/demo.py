"""``pollsvc serve --demo``: one Vietnamese sample article poll, seeded once, and an admin key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from pollsvc.models import Poll
from pollsvc.services import DbSession
from pollsvc.services.apikeys import create_key
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


def seed_demo(session: DbSession, now: datetime) -> tuple[str, int]:
    """Create the demo poll unless it exists; always a fresh admin key (keys are shown once)."""
    poll_id = session.scalar(
        select(Poll.id).where(Poll.article_id == DEMO_ARTICLE_ID).order_by(Poll.id).limit(1)
    )
    if poll_id is None:
        poll_id = create_poll(session, None, dict(DEMO_POLL), now).id
    key = create_key(session, "admin", "demo", now)
    return key, poll_id
