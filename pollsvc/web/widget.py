"""/widget.js, the iframe embed pages and the demo article page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("widget", __name__)
