"""What editors' text may contain beyond control characters: no bidi overrides, and something to see.

A label like ``\\u202Egnp.exe\\u202C`` reads backwards on every page that shows it (the "Trojan
Source" trick), and a label of zero-width spaces or Hangul fillers is an option nobody can read.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
"""Embeddings, overrides and isolates reorder the text around them; the marks (LRM, RLM, ALM)
only nudge neutral characters and stay allowed for right-to-left text."""
BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that draw nothing: Hangul fillers and the blank braille pattern."""
VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def text_problem(text: str) -> str | None:
    """Why ``text`` (already trimmed) may not be stored, or None when it may (empty included)."""
    if BIDI_CONTROLS.search(text):
        return "Bidirectional override, embedding and isolate characters (U+202A-U+202E, U+2066-U+2069) " \
               "are not allowed."
    if text and not any(_visible(ch) for ch in text):
        return "Must contain at least one visible character."
    return None


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] in VISIBLE_CATEGORIES and ch not in BLANK_LOOKING
