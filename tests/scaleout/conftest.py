"""The scale-out drills as one test (see ``drills/``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scaleout: the scale-out drills (HAProxy, PgBouncer, a replica, a Redis "
                                       "Cluster); PostgreSQL + Redis runs only")
