"""pollsvc: polls and deduplicated votes for news sites.

``create_app`` (in ``pollsvc.app``) is imported on first use, so light entry points such as
``python -m pollsvc.supervisor`` do not load Flask and the rest of the app.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pollsvc.app import create_app

__version__ = "0.1.0"
__all__ = ["create_app"]

logging.getLogger("pollsvc").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from pollsvc.app import create_app

        return create_app
    raise AttributeError(f"module 'pollsvc' has no attribute {name!r}")
