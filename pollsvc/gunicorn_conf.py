"""gunicorn settings used by ``pollsvc serve``: metrics in multiprocess mode, clean worker exits."""

from __future__ import annotations

from typing import Any


def child_exit(_server: Any, worker: Any) -> None:
    """A dead worker's live gauges must not linger in the merged metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
