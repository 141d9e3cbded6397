"""The framework's ceiling here: a bare Flask app answering a small JSON object.

``python -m bench`` serves it twice as baselines: on gunicorn's sync workers with gunicorn's
defaults (what a Flask user deploys), and on Granian with exactly the arguments of ``pollsvc serve``.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

app = Flask(__name__)


@app.get("/api/v1/articles/<article_id>/polls")
def article_polls(article_id: str) -> Response:
    return jsonify({"article_id": article_id, "polls": []})


@app.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})
