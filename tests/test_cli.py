"""The command line: keys, migrations (also in parallel), counts rebuild, purge, demo seed."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from pollsvc.identity import network_hash, network_label
from tests.helpers import PG_URL, TEST_SECRET, post_vote, server_env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pollsvc.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the backend under test."""
    if not PG_URL:
        yield "sqlite:///" + str(tmp_path / "fresh.sqlite3")
        return
    name = f"pollsvc_fresh_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_migrations_from_empty_to_head(fresh_database: str, tmp_path: Path) -> None:
    env = server_env(fresh_database, tmp_path)
    result = run_cli(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    engine = create_engine(fresh_database)
    tables = set(inspect(engine).get_table_names())
    assert {"polls", "options", "ballots", "ballot_keys", "selections", "api_keys", "poll_counter_shards",
            "option_counter_shards", "audit_events", "alembic_version"} <= tables
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert head
    assert run_cli(env, "db", "upgrade").returncode == 0  # idempotent


def test_db_upgrade_in_parallel(fresh_database: str, tmp_path: Path) -> None:
    env = server_env(fresh_database, tmp_path)
    processes = [subprocess.Popen([sys.executable, "-m", "pollsvc.cli", "db", "upgrade"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
    assert all(code == 0 for code, _ in outcomes), outcomes
    engine = create_engine(fresh_database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_create_api_key_prints_the_key_alone_on_the_last_line(migrated: str, instance_dir: Path,
                                                              client: Any) -> None:
    result = run_cli(server_env(migrated, instance_dir), "create-api-key", "--role", "reporter", "--name", "Tòa soạn")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert " " not in key and key.startswith("psk_")
    assert client.get("/api/v1/polls", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.post("/api/v1/polls", json={}, headers={"Authorization": f"Bearer {key}"}).status_code == 403
    engine = create_engine(migrated)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    engine.dispose()
    assert all(key not in value and key.split("_", 2)[2] not in value for value in stored)
    bad = run_cli(server_env(migrated, instance_dir), "create-api-key", "--role", "root")
    assert bad.returncode != 0


def test_counts_rebuild_changes_nothing_after_votes(migrated: str, instance_dir: Path, client: Any, make_poll: Any,
                                                    admin: dict[str, str], voter_token: Any) -> None:
    polls = [make_poll(max_choices=2), make_poll(article_id="khac")]
    for i in range(12):
        poll = polls[i % 2]
        picks = [poll["options"][i % 3]["id"]] + ([poll["options"][(i + 1) % 3]["id"]] if i % 4 == 0 else [])
        assert post_vote(client, poll, picks, token=voter_token()).status_code == 201
    before = [client.get(f"/api/v1/polls/{p['id']}/results", headers=admin).json for p in polls]
    engine = create_engine(migrated)
    with engine.begin() as conn:  # damage the counters
        conn.execute(text("UPDATE poll_counter_shards SET participants = participants + 5"))
        conn.execute(text("DELETE FROM option_counter_shards WHERE shard % 2 = 0"))
    engine.dispose()
    result = run_cli(server_env(migrated, instance_dir), "counts", "rebuild")
    assert result.returncode == 0, result.stderr
    after = [client.get(f"/api/v1/polls/{p['id']}/results", headers=admin).json for p in polls]
    assert after == before


def test_purge_removes_ip_keys_of_long_closed_polls_only(migrated: str, instance_dir: Path, client: Any,
                                                         make_poll: Any, admin: dict[str, str]) -> None:
    old = make_poll(dedup="ip")
    live = make_poll(dedup="ip", article_id="con-mo")
    for poll in (old, live):
        assert post_vote(client, poll, ip="192.0.2.1").status_code == 201
    label = network_label(network_hash(TEST_SECRET, "192.0.2.1"))
    void = client.post(f"/api/v1/polls/{old['id']}/voids", headers=admin,
                       json={"network": label, "from": "2000-01-01T00:00:00Z"}).json
    runtime = client.application.extensions["pollsvc"]
    now = runtime.now()
    assert runtime.store.redeem_solution(b"d" * 32, now + timedelta(minutes=5), b"n" * 32, now)  # a token minted now
    engine = create_engine(migrated)
    with engine.begin() as conn:
        conn.execute(text("UPDATE polls SET state = 'closed', updated_at = :t WHERE id = :id"),
                     {"t": "2000-01-01 00:00:00", "id": old["id"]})
        conn.execute(text("INSERT INTO token_mints (network_hash, hour, tokens) VALUES (:n, :t, 5)"),
                     {"n": b"o" * 32, "t": "2000-01-01 00:00:00"})
    result = run_cli(server_env(migrated, instance_dir), "purge", "--older-than", "30")
    assert result.returncode == 0, result.stderr
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT poll_id, kind FROM ballot_keys ORDER BY poll_id")).all()
        ballots = conn.execute(text("SELECT count(*) FROM ballots")).scalar()
        networks = conn.execute(text("SELECT poll_id FROM ballots WHERE network_hash IS NOT NULL")).scalars().all()
        mints = conn.execute(text("SELECT network_hash FROM token_mints")).scalars().all()
    engine.dispose()
    assert [bytes(m) for m in mints] == [b"n" * 32]  # the old hourly count is gone, today's stays
    assert [tuple(k) for k in kinds] == [(live["id"], "ip")]
    assert ballots == 2
    assert networks == [live["id"]]  # the voter's network is forgotten with the IP key
    # the void forgets its network too, and can still be restored
    assert client.get(f"/api/v1/polls/{old['id']}/voids", headers=admin).json["items"][0]["network"] is None
    assert client.post(f"/api/v1/polls/{old['id']}/voids/{void['id']}/restore", headers=admin).status_code == 200
    assert client.get(f"/api/v1/polls/{old['id']}/results", headers=admin).json["participants"] == 1


def test_demo_seed_is_idempotent(migrated: str, instance_dir: Path, app: Any) -> None:
    from pollsvc.demo import DEMO_ARTICLE_ID, seed_demo
    from pollsvc.extensions import db

    with app.app_context():
        key1, poll1 = seed_demo(db.session, app.extensions["pollsvc"].now(), instance_dir)
        key2, poll2 = seed_demo(db.session, app.extensions["pollsvc"].now(), instance_dir)
    assert poll1 == poll2 and key1 == key2  # the demo's key is given again, not a new one each start
    assert (instance_dir / "demo_api_key").stat().st_mode & 0o777 == 0o600
    polls = app.test_client().get(f"/api/v1/articles/{DEMO_ARTICLE_ID}/polls").json["polls"]
    assert len(polls) == 1 and "Quảng Ninh" in polls[0]["question"]
