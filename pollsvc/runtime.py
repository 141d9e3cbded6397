"""Per-app runtime state: settings, the clock and the Redis client, found at app.extensions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app

from pollsvc.config import Settings


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    redis: Any = None
    caches: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock()


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["pollsvc"]
    return rt
