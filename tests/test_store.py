"""The store contract: the same behaviour from the PostgreSQL and the SQLite store (this module
runs on whichever backend the suite runs on, so CI checks both)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from pollsvc.services.store import BallotRequest, OptionsChanged, Store

TOKEN_A = ("token", b"a" * 32)
TOKEN_B = ("token", b"b" * 32)
IP_1 = ("ip", b"1" * 32)


@pytest.fixture
def store(app: Any) -> Store:
    store: Store = app.extensions["pollsvc"].store
    return store


@pytest.fixture
def ballot(clock: Any) -> Callable[..., BallotRequest]:
    def make(poll: dict[str, Any], option_index: int = 0, keys: Any = (TOKEN_A,), **changes: Any) -> BallotRequest:
        fields = {"poll_id": poll["id"], "option_ids": [poll["options"][option_index]["id"]], "keys": list(keys),
                  "now": clock(), "dedup": poll.get("dedup", "token"), "max_choices": poll["max_choices"]}
        fields.update(changes)
        return BallotRequest(**fields)

    return make


def test_a_ballot_is_counted_everywhere_at_once(store: Store, make_poll: Any, ballot: Any, clock: Any) -> None:
    poll = make_poll(dedup="token")
    first = store.cast_ballot(ballot(poll, 0, [TOKEN_A]))
    clock.advance(hours=2)
    second = store.cast_ballot(ballot(poll, 1, [TOKEN_B]))
    assert first.ballot_id is not None and second.ballot_id is not None
    assert second.counts.participants == 2 and second.counts.total_votes == 2
    option_ids = [o["id"] for o in poll["options"]]
    counts = store.load_counts([poll["id"]])[poll["id"]]
    assert counts == second.counts
    assert dict(counts.option_votes) == {option_ids[0]: 1, option_ids[1]: 1}
    assert counts.first_vote_at == clock() - timedelta(hours=2) and counts.last_vote_at == clock()
    hours = store.hourly_participants(poll["id"])
    assert [n for _, n in hours] == [1, 1]
    assert hours[1][0] - hours[0][0] == timedelta(hours=2)
    view = store.load_polls([poll["id"]])[poll["id"]]
    assert view.counts == counts and [o.label for o in view.options] == [o["label"] for o in poll["options"]]


def test_a_taken_key_writes_nothing_and_says_which(store: Store, make_poll: Any, ballot: Any) -> None:
    poll = make_poll(dedup="token_and_ip")
    assert store.cast_ballot(ballot(poll, 0, [TOKEN_A, IP_1])).ballot_id is not None
    again = store.cast_ballot(ballot(poll, 1, [TOKEN_A, IP_1]))
    assert again.ballot_id is None and again.taken == {"token", "ip"}
    same_ip = store.cast_ballot(ballot(poll, 1, [TOKEN_B, IP_1]))  # one key new, one taken
    assert same_ip.ballot_id is None and same_ip.taken == {"ip"}
    assert same_ip.counts.participants == 1
    assert store.load_counts([poll["id"]])[poll["id"]].participants == 1
    assert store.voted_kinds({poll["id"]: [TOKEN_B, IP_1]}) == {poll["id"]: {"ip"}}
    assert store.voted_kinds({poll["id"]: [TOKEN_B]}) == {}


def test_the_poll_row_decides_not_the_callers_view(store: Store, make_poll: Any, ballot: Any, client: Any,
                                                   admin: dict[str, str], clock: Any) -> None:
    poll = make_poll()
    client.patch(f"/api/v1/polls/{poll['id']}", json={"status": "closed"}, headers=admin)
    closed = store.cast_ballot(ballot(poll))
    assert closed.ballot_id is None and not closed.taken
    assert closed.poll is not None and closed.poll.state == "closed"
    client.patch(f"/api/v1/polls/{poll['id']}", json={"status": "open", "dedup": "ip"}, headers=admin)
    changed = store.cast_ballot(ballot(poll))  # validated against dedup "token": refused
    assert changed.ballot_id is None and changed.poll is not None and changed.poll.dedup == "ip"
    too_many = store.cast_ballot(ballot(poll, keys=[IP_1], dedup="ip", max_choices=2,
                                        option_ids=[o["id"] for o in poll["options"][:2]]))
    assert too_many.ballot_id is None  # the poll takes one choice
    scheduled = make_poll(opens_at=(clock() + timedelta(days=1)).isoformat())
    assert store.cast_ballot(ballot(scheduled)).ballot_id is None
    assert store.cast_ballot(ballot({**poll, "id": 2**31 - 1})).poll is None
    assert store.load_counts([poll["id"], scheduled["id"]])[poll["id"]].participants == 0


def test_a_vanished_option_is_refused_whole(store: Store, make_poll: Any, ballot: Any) -> None:
    poll = make_poll()
    with pytest.raises(OptionsChanged):
        store.cast_ballot(ballot(poll, option_ids=[2**31 - 1]))
    assert store.voted_kinds({poll["id"]: [TOKEN_A]}) == {}
    assert store.load_counts([poll["id"]])[poll["id"]].participants == 0


def test_rebuild_recomputes_every_counter_from_the_ballots(store: Store, make_poll: Any, ballot: Any,
                                                           clock: Any) -> None:
    poll = make_poll(dedup="token", max_choices=2)
    for i in range(5):
        clock.advance(minutes=37)
        keys = [("token", bytes([i]) * 32)]
        chosen = [poll["options"][i % 3]["id"], poll["options"][(i + 1) % 3]["id"]] if i % 2 else \
            [poll["options"][i % 3]["id"]]
        assert store.cast_ballot(ballot(poll, keys=keys, option_ids=chosen)).ballot_id is not None
    before = (store.load_counts([poll["id"]]), store.hourly_participants(poll["id"]))
    with store.engine.begin() as connection:  # scramble the counters: rebuild must not trust them
        connection.execute(text("UPDATE poll_counter_shards SET participants = 99, first_vote_at = NULL"))
        connection.execute(text("DELETE FROM poll_hourly_counts"))
    assert store.rebuild_counts([poll["id"]]) == 1
    assert (store.load_counts([poll["id"]]), store.hourly_participants(poll["id"])) == before
    assert before[0][poll["id"]].participants == 5 and before[0][poll["id"]].total_votes == 7


def test_article_poll_ids_leave_out_drafts_and_archived(store: Store, make_poll: Any, client: Any,
                                                        admin: dict[str, str]) -> None:
    shown = make_poll(article_id="a-1")
    make_poll(article_id="a-1", status="draft")
    archived = make_poll(article_id="a-1")
    client.delete(f"/api/v1/polls/{archived['id']}", headers=admin)
    closed = make_poll(article_id="a-1", status="closed")
    make_poll(article_id="a-2")
    assert store.article_poll_ids("a-1") == (shown["id"], closed["id"])
    assert store.article_poll_ids("nothing") == ()


def test_a_dead_pooled_connection_costs_one_retry_not_an_error(store: Store, make_poll: Any, ballot: Any) -> None:
    """No ping before each use: a connection the server dropped is found by its first statement,
    which is retried once on a fresh connection."""
    poll = make_poll()
    store.load_polls([poll["id"]])  # a connection in the pool
    with store.engine.connect() as connection:
        if store.dialect == "postgresql":
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'pollsvc'"))
        else:
            pytest.skip("SQLite has no server to drop connections")
    disconnects: list[bool] = []
    event.listen(store.engine, "handle_error", lambda context: disconnects.append(context.is_disconnect))
    assert store.cast_ballot(ballot(poll)).ballot_id is not None
    assert store.load_polls([poll["id"]])[poll["id"]].counts.participants == 1
    assert disconnects == [True], "the vote did not meet the dropped connection (nothing was tested)"
