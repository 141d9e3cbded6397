"""POST /api/v1/views: what counts (public polls, once per IP and poll in 10 minutes, from allowed
origins), what is refused, and the buffer's flush to SQL: exactly once, also after a crash
between its steps, and within seconds on a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from pollsvc.services.views import VIEW_DEDUP_SECONDS, ViewCounter, hourly_rows
from tests.helpers import REDIS_URL, Clock, assert_error, create_poll, server_env

IP = "192.0.2.10"


@pytest.fixture(autouse=True)
def _manual_flush(app_config: dict[str, Any]) -> None:
    """No flusher thread: each test flushes when it wants to look (the real-server test has one)."""
    app_config["VIEW_FLUSH_SECONDS"] = 0


def post_views(client: Any, polls: list[Any], *, ip: str = IP, headers: dict[str, str] | None = None,
               content_type: str = "application/json") -> Any:
    return client.post("/api/v1/views", data=json.dumps({"polls": polls}), content_type=content_type,
                       headers=headers or {}, environ_base={"REMOTE_ADDR": ip})


def counter(app: Any) -> ViewCounter:
    views: ViewCounter = app.extensions["pollsvc"].views
    return views


def flushed(app: Any, *poll_ids: int) -> list[int]:
    """Flush the buffer, then each poll's views as SQL has them."""
    counter(app).flush()
    found = app.extensions["pollsvc"].store.views_of(poll_ids)
    return [found[poll_id] for poll_id in poll_ids]


def test_a_view_counts_once_per_ip_and_poll_in_the_window(app: Any, client: Any, make_poll: Any,
                                                          clock: Clock) -> None:
    poll = make_poll()
    first = post_views(client, [poll["id"]])
    assert first.status_code == 204 and first.get_data() == b""
    assert post_views(client, [poll["id"]]).status_code == 204
    assert flushed(app, poll["id"]) == [1]
    assert post_views(client, [poll["id"]], ip="192.0.2.11").status_code == 204  # another reader
    # IPv6: one /64 is one reader, another /64 another
    for address in ("2001:db8::1", "2001:db8::2:3", "2001:db8:0:1::1"):
        assert post_views(client, [poll["id"]], ip=address).status_code == 204
    assert flushed(app, poll["id"]) == [4]
    clock.advance(seconds=VIEW_DEDUP_SECONDS - 1)
    post_views(client, [poll["id"]])
    assert flushed(app, poll["id"]) == [4]
    clock.advance(seconds=2)  # the first reader's window has ended
    post_views(client, [poll["id"]])
    post_views(client, [poll["id"]])
    assert flushed(app, poll["id"]) == [5]
    hours = app.extensions["pollsvc"].store.hourly_views(poll["id"])
    assert sum(n for _, n in hours) == 5 and all(hour.minute == 0 and hour.tzinfo for hour, _ in hours)


def test_polls_the_public_may_not_see_count_nothing_and_answer_alike(app: Any, client: Any, make_poll: Any,
                                                                     admin: dict[str, str], clock: Clock) -> None:
    closed = make_poll(status="closed")
    draft = make_poll(status="draft")
    scheduled = make_poll(opens_at=(clock.current + timedelta(hours=1)).isoformat())
    archived = make_poll()
    assert client.delete(f"/api/v1/polls/{archived['id']}", headers=admin).status_code == 204
    answers = [post_views(client, [poll_id]) for poll_id in
               (closed["id"], draft["id"], scheduled["id"], archived["id"], 999_999, 2**31 - 1)]
    shapes = {(r.status_code, r.get_data(), tuple(sorted(k for k, _ in r.headers if k != "X-Request-ID")))
              for r in answers}
    assert len(shapes) == 1 and next(iter(shapes))[:2] == (204, b"")
    assert flushed(app, closed["id"], draft["id"], scheduled["id"], archived["id"]) == [1, 0, 0, 0]
    # the refused view left no dedup window behind: once the poll opens, the same reader counts
    clock.advance(hours=1, seconds=1)
    post_views(client, [scheduled["id"]])
    assert flushed(app, scheduled["id"]) == [1]


def test_one_request_reports_several_polls(app: Any, client: Any, make_poll: Any) -> None:
    a, b, c = make_poll(), make_poll(), make_poll(article_id="bai-khac")
    assert post_views(client, [a["id"], b["id"], a["id"], c["id"], 424242]).status_code == 204
    assert post_views(client, [b["id"]], ip="192.0.2.77").status_code == 204
    assert flushed(app, a["id"], b["id"], c["id"]) == [1, 2, 1]


def test_a_beacon_sends_its_json_as_text_plain(app: Any, client: Any, make_poll: Any) -> None:
    poll = make_poll()
    response = post_views(client, [poll["id"]], content_type="text/plain;charset=UTF-8")
    assert response.status_code == 204
    assert flushed(app, poll["id"]) == [1]


def test_views_from_pages_of_other_sites_count_nothing(app: Any, client: Any, make_poll: Any) -> None:
    poll = make_poll()
    for origin in ("https://evil.example", "null", "http://localhost.evil.example", "not a url"):
        assert post_views(client, [poll["id"]], headers={"Origin": origin}).status_code == 204
    assert flushed(app, poll["id"]) == [0]
    # the service's own pages (the demo, the embed) count, whatever the scheme in front
    assert post_views(client, [poll["id"]], headers={"Origin": "https://localhost"}).status_code == 204
    assert flushed(app, poll["id"]) == [1]


@pytest.fixture
def news_site(app_config: dict[str, Any]) -> str:
    app_config["cors_origins"] = "https://news.example"
    return "https://news.example"


def test_a_configured_site_counts_and_gets_cors_headers(news_site: str, app: Any, client: Any,
                                                        make_poll: Any) -> None:
    poll = make_poll()
    ok = post_views(client, [poll["id"]], headers={"Origin": news_site}, content_type="text/plain")
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == news_site
    other = post_views(client, [poll["id"]], ip="192.0.2.99", headers={"Origin": "https://other.example"})
    assert other.status_code == 204 and "Access-Control-Allow-Origin" not in other.headers
    assert flushed(app, poll["id"]) == [1]


@pytest.mark.parametrize(("body", "content_type", "status", "field"), [
    (b"not json", "application/json", 400, None),
    (b"[1, 2]", "application/json", 400, None),
    (b'{"polls": [1]}', "application/x-www-form-urlencoded", 400, None),
    (b'{"polls": [1]}', "", 400, None),
    (b'{"polls": [NaN]}', "text/plain", 400, None),
    (b'{"polls": []}', "application/json", 422, "polls"),
    (b'{"polls": 1}', "application/json", 422, "polls"),
    (b"{}", "application/json", 422, "polls"),
    (b'{"polls": [0]}', "application/json", 422, "polls.0"),
    (b'{"polls": [1, "2"]}', "text/plain", 422, "polls.1"),
    (b'{"polls": [true]}', "application/json", 422, "polls.0"),
    (b'{"polls": [1.5]}', "application/json", 422, "polls.0"),
    (b'{"polls": [2147483648]}', "application/json", 422, "polls.0"),
    (json.dumps({"polls": list(range(1, 22))}).encode(), "application/json", 422, "polls"),
    (b'{"polls": [1], "ip": "1.2.3.4"}', "application/json", 422, "ip"),
])
def test_bad_bodies_are_refused(app: Any, client: Any, body: bytes, content_type: str, status: int,
                                field: str | None) -> None:
    response = client.post("/api/v1/views", data=body, content_type=content_type or None)
    error = assert_error(response, status, "bad_request" if status == 400 else "validation_error")
    if field:
        assert field in error["errors"], error


def test_an_oversized_body_is_413(client: Any) -> None:
    response = client.post("/api/v1/views", data=b'{"polls": [' + b"1, " * 30_000 + b"1]}",
                           content_type="text/plain")
    assert_error(response, 413, "payload_too_large")


@pytest.fixture
def three_a_minute(app_config: dict[str, Any]) -> None:
    app_config["rate_limit_views"] = "3/minute"


def test_views_are_rate_limited_per_ip(three_a_minute: None, app: Any, client: Any, make_poll: Any) -> None:
    polls = [make_poll()["id"] for _ in range(5)]
    answers = [post_views(client, [poll_id]) for poll_id in polls[:4]]
    assert [r.status_code for r in answers] == [204, 204, 204, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3"
    blocked = post_views(client, [polls[4]])
    assert_error(blocked, 429, "rate_limited")
    assert int(blocked.headers["Retry-After"]) >= 1
    assert post_views(client, [polls[4]], ip="192.0.2.200").status_code == 204
    assert flushed(app, *polls) == [1, 1, 1, 0, 1]  # what was refused was not counted


def test_counted_views_show_in_the_metrics(app: Any, client: Any, make_poll: Any) -> None:
    def total() -> float:
        lines = client.get("/metrics").get_data(as_text=True).splitlines()
        return sum(float(line.split()[-1]) for line in lines if line.startswith("pollsvc_views_total "))

    poll = make_poll()
    before = total()
    post_views(client, [poll["id"], 999_999])
    post_views(client, [poll["id"]])
    assert total() == before + 1


def test_the_endpoint_is_documented(client: Any) -> None:
    operation = client.get("/openapi.json").json["paths"]["/api/v1/views"]["post"]
    assert operation["security"] == []
    assert {"204", "400", "413", "422", "429", "503"} <= set(operation["responses"])
    assert "content" not in operation["responses"]["204"]
    assert "text/plain" in operation["requestBody"]["description"]
    schema = client.get("/openapi.json").json["components"]["schemas"]["ViewsIn"]
    assert schema["required"] == ["polls"] and schema["properties"]["polls"]["maxItems"] == 20


# ---- exactly once ----


def test_a_batch_committed_but_not_dropped_is_not_counted_twice(app: Any, client: Any, make_poll: Any,
                                                                clock: Clock) -> None:
    """A crash after the SQL commit and before the buffer's batch was deleted: the next flush
    finds the batch, sees its id in view_batches, and only deletes it."""
    poll = make_poll()
    post_views(client, [poll["id"]])
    views = counter(app)
    buffer = views.buffers()[0]
    with buffer.flushing() as mine:  # a flush's first steps, under its lock
        assert mine
        batch_id = buffer.claim()
        assert batch_id is not None
        assert views.store.add_views(batch_id, hourly_rows(buffer.read(batch_id)), clock())
    # ... the process died here; a flush (of this process or another) picks the batch up
    post_views(client, [poll["id"]], ip="192.0.2.11")
    views.flush()
    assert buffer.outstanding() == []
    assert flushed(app, poll["id"]) == [2]
    assert views.store.add_views(batch_id, {(poll["id"], clock().replace(minute=0, second=0)): 5}, clock()) is False
    assert flushed(app, poll["id"]) == [2]


def test_a_batch_claimed_before_a_crash_is_applied_once(app: Any, client: Any, make_poll: Any) -> None:
    """A crash after the RENAME (the batch claimed, nothing written): the next flush applies it."""
    poll = make_poll()
    post_views(client, [poll["id"]])
    views = counter(app)
    buffer = views.buffers()[0]
    with buffer.flushing() as mine:
        assert mine
        leftover = buffer.claim()
        assert leftover is not None and buffer.outstanding() == [leftover]
    post_views(client, [poll["id"]], ip="192.0.2.11")  # new views go on into a new pending buffer
    views.flush()
    assert buffer.outstanding() == []
    assert flushed(app, poll["id"]) == [2]
    assert views.flush() == 0
    assert flushed(app, poll["id"]) == [2]


@pytest.mark.skipif(not REDIS_URL, reason="the buffer is shared between processes only in Redis")
def test_another_process_applies_a_leftover_batch_and_flushes_race_safely(app_config: dict[str, Any], app: Any,
                                                                          client: Any, make_poll: Any) -> None:
    from pollsvc import create_app

    other = create_app(app_config)  # a second process of the service, on the same Redis and database
    polls = [make_poll()["id"] for _ in range(3)]
    post_views(client, polls)
    shared = counter(app).buffers()[0]
    with shared.flushing() as mine:
        assert mine and shared.claim() is not None  # then this process died
    for i in range(40):
        post_views(other.test_client(), polls, ip=f"198.51.100.{i}")
    results: list[Any] = []

    def flush(target: Any) -> None:
        for _ in range(5):
            results.append(counter(target).flush())

    threads = [threading.Thread(target=flush, args=(target,)) for target in (app, other, app, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 20
    assert flushed(app, *polls) == [41, 41, 41]
    assert counter(app).buffers()[0].outstanding() == []


def test_views_wait_in_memory_while_redis_is_down(app_config: dict[str, Any], app: Any, make_poll: Any) -> None:
    """A Redis that does not answer: views are kept in the process and written all the same."""
    from pollsvc import create_app

    cut_off = create_app({**app_config, "redis_url": "redis://127.0.0.1:1/0"})  # nothing listens there
    poll = make_poll()
    for _ in range(2):
        assert post_views(cut_off.test_client(), [poll["id"]]).status_code == 204
    with pytest.raises(Exception):  # noqa: B017 - redis-py's connection error; the memory buffer is written first
        counter(cut_off).flush()
    assert app.extensions["pollsvc"].store.views_of([poll["id"]]) == {poll["id"]: 1}


# ---- purge ----


def test_purge_forgets_old_view_batch_ids(migrated: str, instance_dir: Path, app: Any, clock: Clock) -> None:
    store = app.extensions["pollsvc"].store
    assert store.add_views("old-batch", {}, clock() - timedelta(days=3))
    assert store.add_views("new-batch", {}, clock() - timedelta(hours=1))
    result = subprocess.run([sys.executable, "-m", "pollsvc.cli", "purge", "--older-than", "30"],
                            env=server_env(migrated, instance_dir), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "forgot 1 flushed view batch id(s)" in result.stdout
    engine = create_engine(migrated)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM view_batches")).scalars().all() == ["new-batch"]
    engine.dispose()


# ---- a real server ----


def test_the_flusher_writes_views_within_ten_seconds(serve: Any, server_admin_key: Any, migrated: str) -> None:
    server = serve()
    poll = create_poll(server, server_admin_key())
    started = time.monotonic()
    for body, content_type in (({"polls": [poll["id"]]}, "text/plain;charset=UTF-8"),
                               ({"polls": [poll["id"]]}, "application/json")):
        response = requests.post(server.url + "/api/v1/views", data=json.dumps(body),
                                 headers={"Content-Type": content_type}, timeout=10)
        assert response.status_code == 204, response.text
    engine = create_engine(migrated)
    seen = 0
    try:
        while time.monotonic() - started < 10 and not seen:
            time.sleep(0.25)
            with engine.connect() as connection:
                seen = int(connection.execute(text("SELECT COALESCE(SUM(views), 0) FROM poll_hourly_views "
                                                   "WHERE poll_id = :p"), {"p": poll["id"]}).scalar() or 0)
        waited = time.monotonic() - started
        time.sleep(2.5)  # a few more flushes: the second view of the same reader stays uncounted
        with engine.connect() as connection:
            final = connection.execute(text("SELECT SUM(views) FROM poll_hourly_views WHERE poll_id = :p"),
                                       {"p": poll["id"]}).scalar()
            batches = connection.execute(text("SELECT count(*) FROM view_batches")).scalar()
    finally:
        engine.dispose()
    assert seen == 1, f"no view in SQL after {waited:.1f} s"
    assert waited < 10 and final == 1 and batches == 1


def test_a_server_that_stops_writes_its_buffered_views(serve: Any, server_admin_key: Any, migrated: str) -> None:
    server = serve()
    poll = create_poll(server, server_admin_key())
    response = requests.post(server.url + "/api/v1/views", data=json.dumps({"polls": [poll["id"]]}),
                             headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 204
    server.stop()  # at once: most likely before the flusher's first turn
    engine = create_engine(migrated)
    with engine.connect() as connection:
        views = connection.execute(text("SELECT SUM(views) FROM poll_hourly_views WHERE poll_id = :p"),
                                   {"p": poll["id"]}).scalar()
    engine.dispose()
    assert views == 1


@pytest.mark.skipif(not REDIS_URL, reason="a late answer from Redis needs Redis")
def test_a_late_answer_from_redis_never_counts_a_view_twice(app: Any, client: Any, make_poll: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    poll = make_poll()
    shared = counter(app).shared
    assert shared is not None
    record = shared.record

    def ran_but_answered_late(*args: Any, **kwargs: Any) -> int:
        record(*args, **kwargs)
        raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(shared, "record", ran_but_answered_late)
    assert post_views(client, [poll["id"]]).status_code == 204
    monkeypatch.undo()
    assert flushed(app, poll["id"]) == [1]


def test_many_unknown_ids_do_not_push_real_polls_out_of_the_cache(app: Any, client: Any, make_poll: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from pollsvc.services import reads

    monkeypatch.setattr(reads, "MAX_ENTRIES", 40)
    poll = make_poll()
    cache = app.extensions["pollsvc"].polls
    assert cache.poll(poll["id"]) is not None
    for start in range(10_000, 10_200, 20):  # 200 ids that are no poll, 20 a request as the beacon allows
        assert post_views(client, list(range(start, start + 20))).status_code == 204
    loads: list[list[int]] = []
    load_polls = cache.store.load_polls
    monkeypatch.setattr(cache.store, "load_polls", lambda ids: loads.append(list(ids)) or load_polls(ids))
    assert cache.poll(poll["id"]) is not None and loads == []  # still cached: no query
    assert post_views(client, list(range(10_180, 10_200))).status_code == 204 and loads == []  # known absent
