"""/admin (the editors' console) and /dashboard (reporting)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__)
