"""``pollsvc serve`` as an operator runs it: demo seeding and metrics across worker processes."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from tests.helpers import free_port, server_env, start_server

pytestmark = pytest.mark.server


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_add_up_across_workers(serve: Any) -> None:
    server = serve()

    def healthz_count() -> float:
        text = requests.get(server.url + "/metrics", timeout=5).text
        return _sample(text, "pollsvc_http_requests_total", endpoint="ops.healthz", status="200")

    before = healthz_count()
    for _ in range(40):  # new connections, so both workers take some
        assert requests.get(server.url + "/healthz", timeout=5, headers={"Connection": "close"}).status_code == 200
    assert healthz_count() - before == 40


def test_serve_demo_seeds_once_and_prints_a_working_key(migrated: str, instance_dir: Any, tmp_path: Any) -> None:
    from tests.helpers import wipe

    wipe(migrated)
    env = server_env(migrated, instance_dir)
    keys = []
    for _ in range(2):
        server = start_server(env, tmp_path, workers=1, port=free_port(), extra_args=("--demo",))
        try:
            time.sleep(0.2)
            output = server.log.read_text()
            match = re.search(r"Admin API key \(demo, the same on every start\):\s+(\S+)", output)
            assert match, output
            keys.append(match.group(1))
            assert f"{server.url}/demo" in output
            polls = requests.get(server.url + "/api/v1/articles/hoi-nghi-ket-luan-57/polls", timeout=5).json()
            assert len(polls["polls"]) == 1
            admin = requests.get(server.url + "/api/v1/polls", timeout=5,
                                 headers={"Authorization": f"Bearer {keys[-1]}"})
            assert admin.status_code == 200 and admin.json()["total"] == 1
        finally:
            server.stop()
    assert keys[0] == keys[1]  # the demo reuses its key: starts don't pile up admin keys
