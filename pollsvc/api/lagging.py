"""Reads that may lag, in views: the app's ``LaggingReads`` and the header that shows the lag."""

from __future__ import annotations

from flask import current_app

from pollsvc.services.store.replica import LaggingReads, Source

EXTENSION = "pollsvc.lagging"
LAG_HEADER = "X-Replica-Lag"
"""Seconds (an upper bound) that an answer from the replica may miss; absent: the primary's."""


def lagging() -> LaggingReads:
    reads: LaggingReads = current_app.extensions[EXTENSION]
    return reads


def lag_headers(source: Source) -> dict[str, str]:
    return {} if source.lag is None else {LAG_HEADER: f"{source.lag:.3f}"}
