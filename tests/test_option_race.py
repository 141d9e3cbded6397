"""Replacing a poll's options races safely with a vote: the database refuses one of the two."""

from __future__ import annotations

from typing import Any

from pollsvc.extensions import db
from pollsvc.services import polls as poll_service
from pollsvc.services.store import BallotRequest


def test_options_with_a_ballot_cannot_be_replaced_even_after_the_check(app: Any, make_poll: Any,
                                                                       monkeypatch: Any, clock: Any) -> None:
    poll = make_poll()
    with app.app_context():
        stored = poll_service.get_poll(db.session, poll["id"])
        # a vote lands after update_poll's "has votes?" check said no
        monkeypatch.setattr(poll_service, "_has_votes", lambda *_: False)
        store = app.extensions["pollsvc"].store
        cast = store.cast_ballot(BallotRequest(poll["id"], [poll["options"][0]["id"]], [("token", b"k" * 32)],
                                               clock(), "token", 1))
        assert cast.ballot_id is not None
        db.session.expire_all()
        stored = poll_service.get_poll(db.session, poll["id"])
        try:
            poll_service.update_poll(db.session, None, stored, {"options": [{"label": "X"}, {"label": "Y"}]},
                                     clock())
        except Exception as exc:
            assert getattr(exc, "code", None) == "poll_has_votes"
        else:
            raise AssertionError("options with a ballot were replaced")
        db.session.expire_all()
        labels = [o.label for o in poll_service.get_poll(db.session, poll["id"]).options]
    assert labels == [o["label"] for o in poll["options"]]
