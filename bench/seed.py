"""Many ballots in seconds: plain SQL straight into ballots, ballot_keys and selections."""

from __future__ import annotations

import psycopg

SEED_SQL = (
    """INSERT INTO ballots (poll_id, created_at)
       SELECT %(poll)s, now() - make_interval(secs => g) FROM generate_series(1, %(n)s) g""",
    """INSERT INTO ballot_keys (poll_id, kind, key_hash, ballot_id)
       SELECT poll_id, 'token', sha256(convert_to('seed:' || id::text, 'UTF8')), id
       FROM ballots WHERE poll_id = %(poll)s""",
    """INSERT INTO selections (ballot_id, option_id)
       SELECT id, CASE WHEN id %% 3 = 0 THEN %(first)s ELSE %(second)s END
       FROM ballots WHERE poll_id = %(poll)s""",
)


def seed_ballots(dsn: str, poll_id: int, option_ids: list[int], count: int) -> None:
    """``count`` ballots for a poll with no ballots yet: 1/3 on the first option, 2/3 on the second."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        params = {"poll": poll_id, "n": count, "first": option_ids[0], "second": option_ids[1]}
        for statement in SEED_SQL:
            conn.execute(statement, params)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE ballots, ballot_keys, selections")
