"""The pages: widget, embeds, demo article (``widget``), admin console and dashboard (``console``)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from pollsvc.web import console, widget

    app.register_blueprint(widget.bp)
    app.register_blueprint(console.bp)
