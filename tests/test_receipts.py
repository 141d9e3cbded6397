"""Vote receipts: a reader who has voted reads with ``X-Poll-Receipt`` instead of a voter token,
gets ``has_voted`` and the results without a database lookup, and nobody else can use them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from pollsvc.identity import issue_receipt, keyed_hash, read_receipts, read_voter_token

SECRET = "receipt-test-secret"


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements run while the block runs."""
    seen: list[str] = []
    engine = app.extensions["pollsvc"].store.engine

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def vote(client: Any, poll: dict[str, Any], token: str, option: int = 0, **headers: str) -> Any:
    return client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][option]["id"]]},
                       headers={"X-Voter-Token": token, **headers})


def test_a_receipt_shows_the_voter_what_a_voter_sees_without_a_lookup(app: Any, client: Any, make_poll: Any,
                                                                       voter_token: Any) -> None:
    poll = make_poll(results_visibility="after_vote")
    other = make_poll(results_visibility="after_vote")
    cast = vote(client, poll, voter_token())
    assert cast.status_code == 201
    receipt = cast.json["receipt"]
    url = f"/api/v1/articles/{poll['article_id']}/polls"
    client.get(url)  # warm the cache, as under load
    with statements(app) as sql:
        read = client.get(url, headers={"X-Poll-Receipt": receipt})
    assert sql == [], "a receipt read went to the database"
    mine, theirs = read.json["polls"]
    assert (mine["id"], theirs["id"]) == (poll["id"], other["id"])
    assert mine["has_voted"] is True and mine["results_visible"] is True
    assert [o["votes"] for o in mine["options"]] == [1, 0, 0]
    assert theirs["has_voted"] is False and theirs["options"][0]["votes"] is None
    assert read.headers["Cache-Control"] == "private, no-cache"
    assert "X-Poll-Receipt" in read.headers["Vary"]
    single = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": receipt})
    assert single.json["has_voted"] is True


def test_a_second_voter_gets_the_same_cached_body(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(results_visibility="after_vote")
    receipts = [vote(client, poll, voter_token(), option=i).json["receipt"] for i in range(2)]
    assert receipts[0] != receipts[1]
    reads = [client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": r}) for r in receipts]
    assert reads[0].data == reads[1].data and reads[0].headers["ETag"] == reads[1].headers["ETag"]
    again = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": receipts[0],
                                                                  "If-None-Match": reads[0].headers["ETag"]})
    assert again.status_code == 304


def test_forged_foreign_or_garbled_receipts_are_ignored(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(results_visibility="after_vote")
    other = make_poll(results_visibility="after_vote")
    receipt = vote(client, poll, voter_token()).json["receipt"]
    poll_id, kind, tag, mac = receipt.split(".")
    forged = [
        f"{other['id']}.{kind}.{tag}.{mac}",                  # another poll
        f"{poll_id}.{kind}.{tag}.{mac[:-2]}AA",                # bad signature
        f"{poll_id}.u.{tag}.{mac}",                            # another kind
        receipt[:-1], "garbage", "1.t.x.y", "é" * 40,
    ]
    anonymous = client.get(f"/api/v1/polls/{other['id']}").data
    for header in forged:
        read = client.get(f"/api/v1/polls/{other['id']}" if header.startswith(str(other["id"]))
                          else f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": header})
        assert read.status_code == 200
        assert read.json["has_voted"] is False, header
        assert read.json["options"][0]["votes"] is None
    assert client.get(f"/api/v1/polls/{other['id']}", headers={"X-Poll-Receipt": receipt}).data == anonymous
    over = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": (receipt + " ") * 100})
    assert over.status_code == 200 and over.json["has_voted"] is False  # over the receipts' bound: ignored
    huge = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": (receipt + " ") * 500})
    assert huge.status_code == 431 and huge.json["error"] == "headers_too_large"  # past 16 KiB of headers


def test_an_ip_receipt_holds_only_from_the_same_address(client: Any, make_poll: Any) -> None:
    poll = make_poll(dedup="ip", results_visibility="after_vote")
    here = {"REMOTE_ADDR": "192.0.2.10"}
    cast = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]},
                       environ_base=here)
    receipt = cast.json["receipt"]
    assert receipt.split(".")[1] == "i"
    same = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": receipt}, environ_base=here)
    assert same.json["has_voted"] is True
    elsewhere = client.get(f"/api/v1/polls/{poll['id']}", headers={"X-Poll-Receipt": receipt},
                           environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.json["has_voted"] is False


def test_already_voted_answers_carry_a_receipt(client: Any, make_poll: Any, voter_token: Any) -> None:
    poll = make_poll(dedup="token_and_ip", results_visibility="after_vote")
    token = voter_token()
    first = vote(client, poll, token)
    refused = vote(client, poll, token)
    assert refused.status_code == 409 and refused.json["error"] == "already_voted"
    assert refused.json["receipt"] == first.json["receipt"]
    # A new token from an address that voted: refused for the IP, so the receipt vouches for the IP.
    by_ip = vote(client, poll, voter_token())
    assert by_ip.status_code == 409 and by_ip.json["receipt"].split(".")[1] == "i"


def test_receipts_are_bound_to_the_server_secret() -> None:
    key = keyed_hash(SECRET, "token", "voter-1")
    receipt = issue_receipt(SECRET, 5, "token", key)
    assert [r.poll_id for r in read_receipts(SECRET, receipt)[5]] == [5]
    assert read_receipts("another secret", receipt) == {}
    assert read_voter_token(SECRET, receipt, 0, 10**10) is None  # a receipt is not a voter token
    many = " ".join([receipt] * 30)
    assert len(read_receipts(SECRET, many)[5]) == 20  # at most 20 are read


def test_a_receipt_does_not_vouch_for_another_signed_in_reader(client: Any, make_poll: Any) -> None:
    import time

    from pollsvc.identity import sign_user_assertion
    from tests.helpers import USER_SECRET

    poll = make_poll(dedup="user", results_visibility="after_vote")
    expiry = int(time.time()) + 3600
    alice = {"X-Poll-User": sign_user_assertion(USER_SECRET, "alice", expiry)}
    bob = {"X-Poll-User": sign_user_assertion(USER_SECRET, "bob", expiry)}
    cast = client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][0]["id"]]},
                       headers=alice)
    receipt = {"X-Poll-Receipt": cast.json["receipt"]}
    assert client.get(f"/api/v1/polls/{poll['id']}", headers={**alice, **receipt}).json["has_voted"] is True
    assert client.get(f"/api/v1/polls/{poll['id']}", headers={**bob, **receipt}).json["has_voted"] is False
    assert client.get(f"/api/v1/polls/{poll['id']}", headers=receipt).json["has_voted"] is True
