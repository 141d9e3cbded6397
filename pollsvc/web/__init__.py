"""The pages: widget and embeds (``widget``), the demo article (``demo``), admin console and dashboard
(``console``)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from pollsvc.web import console, demo, widget

    app.register_blueprint(widget.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(console.bp)
