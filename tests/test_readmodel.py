"""One read model, one serialiser: the documented output schemas are exactly what it produces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from marshmallow import Schema

from pollsvc.schemas import AdminPollOutSchema, PollOutSchema, ResultsOutSchema
from pollsvc.services.readmodel import Counts, OptionView, PollView, poll_body, poll_status, results_body

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def view(**changes: Any) -> PollView:
    fields: dict[str, Any] = {
        "id": 7, "article_id": "hoi-nghi-ket-luan-57", "question": "Bạn thấy thế nào?", "description": None,
        "max_choices": 1, "opens_at": None, "closes_at": None, "results_visibility": "after_vote",
        "dedup": "token", "state": "open", "archived_at": None, "created_at": NOW - timedelta(days=1),
        "updated_at": NOW, "options": (OptionView(21, "Có"), OptionView(22, "Không")),
        "counts": Counts(3, 3, {21: 2, 22: 1}, NOW - timedelta(hours=3), NOW),
    }
    fields.update(changes)
    return PollView(**fields)


def schema_keys(schema: Schema) -> set[str]:
    return {field.data_key or name for name, field in schema.fields.items()}


@pytest.mark.parametrize(("schema", "body"), [
    (PollOutSchema(), poll_body(view(), "open", has_voted=False)),
    (PollOutSchema(), poll_body(view(), "open", has_voted=True)),
    (PollOutSchema(), poll_body(view(description="Mô tả", closes_at=NOW), "closed", has_voted=False)),
    (AdminPollOutSchema(), poll_body(view(), "open", has_voted=False, admin=True)),
    (ResultsOutSchema(), results_body(view(), 12)),
    (ResultsOutSchema(), results_body(view(counts=Counts()), 0)),
])
def test_the_output_schemas_document_exactly_what_the_serialiser_makes(schema: Schema, body: dict[str, Any]) -> None:
    assert set(body) == schema_keys(schema), "the serialiser and its documented schema disagree"
    option_schema = schema.fields["options"].inner.schema  # type: ignore[attr-defined]
    for option in body["options"]:
        assert set(option) == schema_keys(option_schema)
    assert schema.validate(body) == {}
    assert all(schema.fields[name].required for name in schema.fields), "every documented field is always sent"


def test_hidden_results_are_null_and_visible_ones_add_up() -> None:
    hidden = poll_body(view(), "open", has_voted=False)
    assert hidden["results_visible"] is False and hidden["participants"] == 3
    assert [(o["votes"], o["percent"]) for o in hidden["options"]] == [(None, None), (None, None)]
    shown = poll_body(view(), "open", has_voted=True)
    assert [(o["votes"], o["percent"]) for o in shown["options"]] == [(2, 66.7), (1, 33.3)]
    assert results_body(view(), 0)["first_vote_at"] == "2026-11-28T06:30:00Z"


@pytest.mark.parametrize(("changes", "status"), [
    ({}, "open"),
    ({"state": "draft"}, "draft"),
    ({"archived_at": NOW}, "archived"),
    ({"state": "closed"}, "closed"),
    ({"closes_at": NOW}, "closed"),
    ({"opens_at": NOW + timedelta(seconds=1)}, "scheduled"),
    ({"opens_at": NOW, "closes_at": NOW + timedelta(seconds=1)}, "open"),
])
def test_status_comes_from_the_schedule_and_the_clock(changes: dict[str, Any], status: str) -> None:
    assert poll_status(view(**changes), NOW) == status == view(**changes).status(NOW)


def test_counts_with_a_ballot() -> None:
    counts = Counts(1, 1, {21: 1}, NOW, NOW).with_ballot([21, 22], NOW + timedelta(minutes=5))
    assert counts == Counts(2, 3, {21: 2, 22: 1}, NOW, NOW + timedelta(minutes=5))
    assert Counts().with_ballot([22], NOW) == Counts(1, 1, {22: 1}, NOW, NOW)
