"""What an embed page shows about itself to a CMS, a link preview or a search engine: its title,
description and a height for an ``<iframe>``, read from the public poll cache (the same rule as
the public API: a poll the public may not see is described as if it did not exist)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode

from pollsvc.runtime import runtime
from pollsvc.schemas import MAX_POLL_ID
from pollsvc.services.readmodel import PUBLIC_STATUSES, PollView

Kind = Literal["poll", "article"]

SITE_NAME = "pollsvc"
DESCRIPTION_CHARS = 300
TEXTS = {
    "vi": {
        "poll": "Bình chọn",
        "article": "Bình chọn của bài viết",
        "more": "{question} (và {n} câu hỏi khác)",
        "generic": "Tham gia bình chọn và xem kết quả.",
        "options": "Các phương án: {labels}.",
        "locale": "vi_VN",
    },
    "en": {
        "poll": "Poll",
        "article": "Polls of this article",
        "more": "{question} (and {n} more)",
        "generic": "Vote and see the results.",
        "options": "Options: {labels}.",
        "locale": "en_US",
    },
}
# A rough height (CSS pixels) for an iframe before embed.js reports the real one.
FRAME_BASE = 140
FRAME_OPTION = 44
FRAME_GAP = 24
FRAME_EMPTY = 320


@dataclass(frozen=True, slots=True)
class EmbedTarget:
    """A poll (``ident``: its id) or an article (``ident``: its article id)."""

    kind: Kind
    ident: str

    def path(self, lang: str) -> str:
        """The embed page's path, with ``?lang=en`` for English (Vietnamese is the default)."""
        section = "polls" if self.kind == "poll" else "articles"
        return f"/embed/{section}/{self.ident}" + ("?lang=en" if lang == "en" else "")


@dataclass(frozen=True, slots=True)
class EmbedInfo:
    found: bool
    """A public poll (for an article: at least one)."""
    title: str
    description: str
    height: int
    locale: str


def public_polls(target: EmbedTarget) -> list[PollView]:
    """The polls the public sees at this target, from the short-lived public cache."""
    rt = runtime()
    polls = rt.polls
    if target.kind == "poll":
        poll_id = int(target.ident)
        if not 1 <= poll_id <= MAX_POLL_ID:
            return []
        views = [view for view in [polls.poll(poll_id)] if view is not None]
    else:
        ids = polls.article_poll_ids(target.ident)
        found = polls.polls(ids)
        views = [found[i] for i in ids if i in found]
    now = rt.now()
    return [view for view in views if view.status(now) in PUBLIC_STATUSES]


def describe(target: EmbedTarget, lang: str) -> EmbedInfo:
    texts = TEXTS["en" if lang == "en" else "vi"]
    views = public_polls(target)
    height = sum(FRAME_BASE + FRAME_OPTION * len(view.options) for view in views)
    height = height + FRAME_GAP * (len(views) - 1) if views else FRAME_EMPTY
    if not views:
        title = texts["poll" if target.kind == "poll" else "article"]
        description = texts["generic"]
    else:
        first = views[0]
        title = first.question if len(views) == 1 else texts["more"].format(question=first.question, n=len(views) - 1)
        labels = ", ".join(option.label for option in first.options)
        description = first.description or texts["options"].format(labels=labels)
    return EmbedInfo(found=bool(views), title=title, description=_shorten(description), height=height,
                     locale=texts["locale"])


def oembed_path(page_url: str) -> str:
    """The oEmbed endpoint's answer for an embed page (its discovery link)."""
    return "/oembed?" + urlencode({"url": page_url, "format": "json"})


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_CHARS else text[: DESCRIPTION_CHARS - 1].rstrip() + "…"
