"""Polls: create, read, list, update, archive, through HTTP, with the contract's rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import poll_body


def test_create_returns_admin_view_and_location(client: Any, admin: dict[str, str]) -> None:
    response = client.post("/api/v1/polls", json=poll_body(description="  Mô tả  "), headers=admin)
    assert response.status_code == 201
    poll = response.json
    assert response.headers["Location"] == f"/api/v1/polls/{poll['id']}"
    assert poll["status"] == "open"
    assert poll["description"] == "Mô tả"
    assert poll["dedup"] == "token" and poll["results_visibility"] == "after_vote"
    assert poll["max_choices"] == 1 and poll["participants"] == 0 and poll["total_votes"] == 0
    assert poll["results_visible"] is True
    assert [o["label"] for o in poll["options"]] == ["Rất hữu ích", "Bình thường", "Chưa rõ"]
    assert all(o["votes"] == 0 and o["percent"] == 0.0 for o in poll["options"])
    assert poll["created_at"].endswith("Z") and poll["updated_at"].endswith("Z")
    assert poll["view"] == "admin"


def test_public_view_hides_counts_until_visible(client: Any, make_poll: Any) -> None:
    poll = make_poll()
    public = client.get(f"/api/v1/polls/{poll['id']}").json
    assert public["results_visible"] is False and public["has_voted"] is False
    assert all(o["votes"] is None and o["percent"] is None for o in public["options"])
    assert "dedup" not in public and "total_votes" not in public
    assert public["view"] == "public"
    assert set(public) == {"view", "id", "article_id", "question", "description", "max_choices", "status", "opens_at",
                           "closes_at", "results_visibility", "results_visible", "participants", "has_voted",
                           "options", "voter_pass"}
    assert public["voter_pass"] is None  # a reader who has not voted gets no pass


@pytest.mark.parametrize("status", ["draft"])
def test_hidden_statuses_are_404_for_the_public(client: Any, make_poll: Any, admin: dict[str, str],
                                                status: str) -> None:
    poll = make_poll(status=status)
    assert client.get(f"/api/v1/polls/{poll['id']}").status_code == 404
    assert client.get(f"/api/v1/polls/{poll['id']}", headers=admin).json["status"] == status
    assert client.get(f"/api/v1/articles/{poll['article_id']}/polls").json["polls"] == []


def test_scheduled_poll_opens_with_the_clock(client: Any, make_poll: Any, clock: Any) -> None:
    opens = clock.current.replace(microsecond=0)
    from datetime import timedelta

    opens_at = (opens + timedelta(minutes=10)).isoformat()
    poll = make_poll(opens_at=opens_at)
    assert poll["status"] == "scheduled"
    assert client.get(f"/api/v1/polls/{poll['id']}").status_code == 404
    clock.advance(minutes=11)
    assert client.get(f"/api/v1/polls/{poll['id']}").json["status"] == "open"


def test_article_listing_shows_open_and_closed_oldest_first(client: Any, make_poll: Any,
                                                            admin: dict[str, str]) -> None:
    first = make_poll(article_id="bai-1")
    second = make_poll(article_id="bai-1", status="closed")
    make_poll(article_id="bai-1", status="draft")
    archived = make_poll(article_id="bai-1")
    assert client.delete(f"/api/v1/polls/{archived['id']}", headers=admin).status_code == 204
    make_poll(article_id="bai-2")
    body = client.get("/api/v1/articles/bai-1/polls").json
    assert body["article_id"] == "bai-1"
    assert [(p["id"], p["status"]) for p in body["polls"]] == [(first["id"], "open"), (second["id"], "closed")]
    assert client.get("/api/v1/articles/khong-co/polls").json == {"article_id": "khong-co", "polls": []}


def test_article_listing_rejects_bad_article_id(client: Any) -> None:
    response = client.get("/api/v1/articles/-bad/polls")
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert "article_id" in response.json["errors"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"article_id": ""}, "article_id"),
        ({"article_id": "_x"}, "article_id"),
        ({"article_id": "a" * 129}, "article_id"),
        ({"article_id": "có-dấu"}, "article_id"),
        ({"article_id": "abc\n"}, "article_id"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 501}, "question"),
        ({"description": "x" * 2001}, "description"),
        ({"options": [{"label": "Một"}]}, "options"),
        ({"options": [{"label": str(i)} for i in range(21)]}, "options"),
        ({"options": [{"label": "Có"}, {"label": " CÓ "}]}, "options"),
        ({"options": [{"label": "Một"}, {"label": " "}]}, "options.1.label"),
        ({"options": [{"label": "Một"}, {"label": "x" * 201}]}, "options.1.label"),
        ({"options": [{"label": "Một"}, {"text": "Hai"}]}, "options.1.text"),
        ({"max_choices": 4}, "max_choices"),
        ({"max_choices": 0}, "max_choices"),
        ({"max_choices": True}, "max_choices"),
        ({"max_choices": "2"}, "max_choices"),
        ({"opens_at": "2030-01-01T10:00:00"}, "opens_at"),
        ({"closes_at": "2001-01-01T10:00:00Z"}, "closes_at"),
        ({"opens_at": "2031-01-01T10:00:00Z", "closes_at": "2030-01-01T10:00:00Z"}, "closes_at"),
        ({"results_visibility": "sometimes"}, "results_visibility"),
        ({"dedup": "cookie"}, "dedup"),
        ({"status": "archived"}, "status"),
        ({"status": "scheduled"}, "status"),
        ({"participants": 5}, "participants"),
        ({"id": 99}, "id"),
    ],
)
def test_create_validation_names_the_field(client: Any, admin: dict[str, str], overrides: dict[str, Any],
                                           field: str) -> None:
    response = client.post("/api/v1/polls", json=poll_body(**overrides), headers=admin)
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_error"
    assert field in response.json["errors"], response.json["errors"]
    assert client.get("/api/v1/polls", headers=admin).json["total"] == 0


def test_missing_required_fields(client: Any, admin: dict[str, str]) -> None:
    response = client.post("/api/v1/polls", json={}, headers=admin)
    assert response.status_code == 422
    assert {"article_id", "question", "options"} <= set(response.json["errors"])


def test_labels_equal_after_unicode_normalisation_are_duplicates(client: Any, admin: dict[str, str]) -> None:
    composed, decomposed = "Đồng ý", "Đo\u0302\u0300ng y\u0301"
    response = client.post("/api/v1/polls", json=poll_body(options=[{"label": composed}, {"label": decomposed}]),
                           headers=admin)
    assert response.status_code == 422
    assert "options" in response.json["errors"]


def test_list_filters_and_paginates_newest_first(client: Any, make_poll: Any, admin: dict[str, str],
                                                 clock: Any) -> None:
    ids = []
    for i in range(5):
        ids.append(make_poll(article_id="a" if i % 2 == 0 else "b")["id"])
        clock.advance(seconds=1)
    page = client.get("/api/v1/polls?per_page=2&page=1", headers=admin).json
    assert page["total"] == 5 and page["page"] == 1 and page["per_page"] == 2
    assert [p["id"] for p in page["items"]] == [ids[4], ids[3]]
    assert [p["id"] for p in client.get("/api/v1/polls?per_page=2&page=3", headers=admin).json["items"]] == [ids[0]]
    only_a = client.get("/api/v1/polls?article_id=a", headers=admin).json
    assert only_a["total"] == 3 and {p["article_id"] for p in only_a["items"]} == {"a"}
    client.patch(f"/api/v1/polls/{ids[1]}", json={"status": "closed"}, headers=admin)
    closed = client.get("/api/v1/polls?status=closed", headers=admin).json
    assert [p["id"] for p in closed["items"]] == [ids[1]]
    assert client.get("/api/v1/polls?status=open", headers=admin).json["total"] == 4
    for bad in ("per_page=0", "per_page=101", "page=0", "status=weird", "per_page=x"):
        response = client.get(f"/api/v1/polls?{bad}", headers=admin)
        assert response.status_code == 422, bad
        assert response.json["error"] == "validation_error"


def test_update_fields_and_replace_options_without_votes(client: Any, make_poll: Any, admin: dict[str, str]) -> None:
    poll = make_poll()
    old_ids = {o["id"] for o in poll["options"]}
    response = client.patch(f"/api/v1/polls/{poll['id']}", headers=admin, json={
        "question": " Câu hỏi mới ", "description": "", "options": [{"label": "X"}, {"label": "Y"}],
        "max_choices": 2, "results_visibility": "always", "dedup": "ip",
    })
    assert response.status_code == 200, response.json
    body = response.json
    assert body["question"] == "Câu hỏi mới" and body["description"] is None
    assert [o["label"] for o in body["options"]] == ["X", "Y"]
    assert not old_ids & {o["id"] for o in body["options"]}
    assert body["max_choices"] == 2 and body["dedup"] == "ip" and body["results_visibility"] == "always"


def test_update_validation(client: Any, make_poll: Any, admin: dict[str, str]) -> None:
    poll = make_poll()
    for payload, field in [({"max_choices": 5}, "max_choices"), ({"question": ""}, "question"),
                           ({"status": "archived"}, "status"), ({"votes": 3}, "votes"),
                           ({"question": None}, "question")]:
        response = client.patch(f"/api/v1/polls/{poll['id']}", json=payload, headers=admin)
        assert response.status_code == 422, payload
        assert field in response.json["errors"]


def _vote(client: Any, poll: dict[str, Any], token: str, index: int = 0) -> Any:
    return client.post(f"/api/v1/polls/{poll['id']}/votes", json={"option_ids": [poll["options"][index]["id"]]},
                       headers={"X-Voter-Token": token})


def test_votes_lock_options_max_choices_dedup_and_draft(client: Any, make_poll: Any, admin: dict[str, str],
                                                         voter_token: Any) -> None:
    poll = make_poll()
    assert _vote(client, poll, voter_token()).status_code == 201
    url = f"/api/v1/polls/{poll['id']}"
    for payload in ({"options": [{"label": "A"}, {"label": "B"}]}, {"max_choices": 2}, {"dedup": "ip"},
                    {"status": "draft"}):
        response = client.patch(url, json=payload, headers=admin)
        assert response.status_code == 409, payload
        assert response.json["error"] == "poll_has_votes"
    same = {"options": [{"label": o["label"]} for o in poll["options"]], "max_choices": 1, "dedup": "token"}
    assert client.patch(url, json=same, headers=admin).status_code == 200
    edited = client.patch(url, json={"question": "Sửa", "results_visibility": "always", "status": "closed"},
                          headers=admin)
    assert edited.status_code == 200 and edited.json["status"] == "closed"
    assert client.patch(url, json={"status": "open"}, headers=admin).json["status"] == "open"
    assert client.get(url, headers=admin).json["participants"] == 1


def test_closes_at_passed_closes_and_reopening_needs_a_later_closes_at(client: Any, make_poll: Any,
                                                                       admin: dict[str, str], clock: Any) -> None:
    from datetime import timedelta

    poll = make_poll(closes_at=(clock.current + timedelta(minutes=5)).isoformat())
    url = f"/api/v1/polls/{poll['id']}"
    assert client.get(url).json["status"] == "open"
    clock.advance(minutes=6)
    assert client.get(url).json["status"] == "closed"
    response = client.patch(url, json={"status": "open"}, headers=admin)
    assert response.status_code == 422 and "closes_at" in response.json["errors"]
    later = (clock.current + timedelta(hours=1)).isoformat()
    assert client.patch(url, json={"closes_at": later}, headers=admin).json["status"] == "open"
    past = (clock.current - timedelta(minutes=1)).isoformat()
    assert client.patch(url, json={"closes_at": past}, headers=admin).json["status"] == "closed"


def test_archive_hides_and_patch_status_restores(client: Any, make_poll: Any, admin: dict[str, str]) -> None:
    poll = make_poll()
    url = f"/api/v1/polls/{poll['id']}"
    assert client.delete(url, headers=admin).status_code == 204
    assert client.delete(url, headers=admin).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(url, headers=admin).json["status"] == "archived"
    assert client.get("/api/v1/polls?status=archived", headers=admin).json["total"] == 1
    assert client.patch(url, json={"status": "open"}, headers=admin).json["status"] == "open"
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/polls/0", "/api/v1/polls/999999", "/api/v1/polls/abc",
                                  "/api/v1/polls/99999999999999999999", "/api/v1/polls/-1"])
def test_unknown_poll_ids_are_404(client: Any, admin: dict[str, str], path: str) -> None:
    for headers in ({}, admin):
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json["error"] == "not_found"


def test_options_keep_their_order_and_labels_are_trimmed(client: Any, make_poll: Any) -> None:
    poll = make_poll(options=[{"label": "  Zeta "}, {"label": "Alpha"}, {"label": "Mu"}])
    assert [o["label"] for o in poll["options"]] == ["Zeta", "Alpha", "Mu"]
