"""HTTP as the drills' readers do it: one connection per request through the balancer, from a
loopback address of the reader's own (the balancer puts it in ``X-Forwarded-For``)."""

from __future__ import annotations

import http.client
import json
import random
from dataclasses import dataclass, field
from typing import Any


def random_ip() -> str:
    """A loopback address on a random network: a reader of its own, far from any rate limit."""
    return f"127.{random.randint(16, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


@dataclass
class Answer:
    status: int
    """0: no HTTP answer (connection refused or reset, timeout)."""
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


def call(port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
         source: str | None = None, timeout: float = 15) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                            source_address=(source or random_ip(), 0))
    try:
        payload = None if body is None else json.dumps(body)
        sent = {**({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})}
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        kind = response.getheader("Content-Type", "")
        parsed = json.loads(raw) if raw and kind.startswith("application/json") else raw.decode("utf-8", "replace")
        return Answer(response.status, parsed, {k.lower(): v for k, v in response.getheaders()})
    except (OSError, http.client.HTTPException):
        return Answer(0)
    finally:
        connection.close()


@dataclass
class Api:
    """The service through the balancer, with an admin key."""

    port: int
    admin_key: str

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def create_poll(self, dedup: str = "token", question: str = "Mở rộng?") -> dict[str, Any]:
        body = {"article_id": "scale-out", "question": question, "dedup": dedup,
                "options": [{"label": "Có"}, {"label": "Không"}]}
        answer = call(self.port, "POST", "/api/v1/polls", body, self.auth())
        assert answer.status == 201, answer
        return answer.body  # type: ignore[no-any-return]

    def token(self, source: str | None = None) -> str | None:
        answer = call(self.port, "POST", "/api/v1/voters", source=source)
        return str(answer.body["voter_token"]) if answer.status == 201 else None

    def vote(self, poll: dict[str, Any], token: str | None, source: str | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        sent = {**({"X-Voter-Token": token} if token else {}), **(headers or {})}
        return call(self.port, "POST", f"/api/v1/polls/{poll['id']}/votes",
                    {"option_ids": [poll["options"][0]["id"]]}, sent, source)

    def results(self, poll_id: int) -> Answer:
        return call(self.port, "GET", f"/api/v1/polls/{poll_id}/results", headers=self.auth())

    def report(self) -> Answer:
        return call(self.port, "GET", "/api/v1/reports/polls?article_id=scale-out&per_page=5", headers=self.auth())
