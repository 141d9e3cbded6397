"""The WSGI app that ``pollsvc serve`` runs in each worker process (``pollsvc.wsgi:app``).

Everything the app loads at startup (modules, schemas, the OpenAPI spec) lives as long as the
process: ``gc.freeze`` moves it out of the collector's sight, so the periodic full collections
that the per-request garbage triggers do not walk it again and again (they would add
milliseconds to random requests, and more as the heap grows).
"""

from __future__ import annotations

import gc

from pollsvc import create_app

app = create_app()
gc.collect()
gc.freeze()
