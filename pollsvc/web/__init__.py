"""The pages: widget, embeds, demo article, admin console and dashboard."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Register the page blueprints that exist (each page issue adds its own)."""
