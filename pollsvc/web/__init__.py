"""The pages: widget and embeds (``widget``), the oEmbed provider (``oembed``), the demo article
(``demo``), admin console and dashboard (``console``), ``/favicon.ico``; and the compression of
every answer (``compression``)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from pollsvc.web import compression, console, demo, favicon, oembed, widget

    app.register_blueprint(widget.bp)
    app.register_blueprint(oembed.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(favicon.bp)
    compression.install(app)
