"""A hypothesis state machine: random sequences of create, vote, duplicate vote, close, reopen
and archive keep the API's counts (admin, public and results views) equal to a model's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.helpers import poll_body


@dataclass
class ModelPoll:
    id: int
    option_ids: list[int]
    max_choices: int
    status: str = "open"  # open | closed | archived
    votes: dict[int, int] = field(default_factory=dict)
    voters: list[str] = field(default_factory=list)

    @property
    def participants(self) -> int:
        return len(self.voters)


def test_counts_follow_the_model(client: Any, admin: dict[str, str]) -> None:
    class PollMachine(RuleBasedStateMachine):
        polls = Bundle("polls")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[int, ModelPoll] = {}

        def _token(self) -> str:
            response = client.post("/api/v1/voters")
            assert response.status_code == 201
            return str(response.json["voter_token"])

        @rule(target=polls, max_choices=st.integers(1, 3), status=st.sampled_from(["open", "closed"]))
        def create(self, max_choices: int, status: str) -> int:
            response = client.post("/api/v1/polls", headers=admin, json=poll_body(
                max_choices=max_choices, status=status, results_visibility="always",
                options=[{"label": "Một"}, {"label": "Hai"}, {"label": "Ba"}]))
            assert response.status_code == 201, response.json
            body = response.json
            self.model[body["id"]] = ModelPoll(body["id"], [o["id"] for o in body["options"]], max_choices, status)
            return int(body["id"])

        @rule(poll_id=polls, data=st.data())
        def vote(self, poll_id: int, data: st.DataObject) -> None:
            poll = self.model[poll_id]
            chosen = data.draw(st.lists(st.sampled_from(poll.option_ids), min_size=1, max_size=poll.max_choices,
                                        unique=True))
            token = self._token()
            response = client.post(f"/api/v1/polls/{poll_id}/votes", json={"option_ids": chosen},
                                   headers={"X-Voter-Token": token})
            if poll.status == "archived":
                assert response.status_code == 404
            elif poll.status == "closed":
                assert (response.status_code, response.json["error"]) == (409, "poll_closed")
            else:
                assert response.status_code == 201, response.json
                poll.voters.append(token)
                for option_id in chosen:
                    poll.votes[option_id] = poll.votes.get(option_id, 0) + 1
                assert response.json["poll"]["participants"] == poll.participants

        @rule(poll_id=polls, data=st.data())
        def vote_again(self, poll_id: int, data: st.DataObject) -> None:
            poll = self.model[poll_id]
            if not poll.voters:
                return
            token = data.draw(st.sampled_from(poll.voters))
            response = client.post(f"/api/v1/polls/{poll_id}/votes", json={"option_ids": [poll.option_ids[-1]]},
                                   headers={"X-Voter-Token": token})
            expected = {"archived": (404, "not_found"), "closed": (409, "poll_closed"),
                        "open": (409, "already_voted")}[poll.status]
            assert (response.status_code, response.json["error"]) == expected

        @rule(poll_id=polls, status=st.sampled_from(["open", "closed"]))
        def set_status(self, poll_id: int, status: str) -> None:
            """Close or reopen (which also restores an archived poll)."""
            response = client.patch(f"/api/v1/polls/{poll_id}", json={"status": status}, headers=admin)
            assert response.status_code == 200, response.json
            assert response.json["status"] == status
            self.model[poll_id].status = status

        @rule(poll_id=polls)
        def archive(self, poll_id: int) -> None:
            assert client.delete(f"/api/v1/polls/{poll_id}", headers=admin).status_code == 204
            self.model[poll_id].status = "archived"

        @invariant()
        def counts_match(self) -> None:
            for poll in self.model.values():
                admin_view = client.get(f"/api/v1/polls/{poll.id}", headers=admin).json
                assert admin_view["status"] == poll.status
                assert admin_view["participants"] == poll.participants
                assert {o["id"]: o["votes"] for o in admin_view["options"]} == {
                    oid: poll.votes.get(oid, 0) for oid in poll.option_ids}
                assert admin_view["total_votes"] == sum(poll.votes.values())
                results = client.get(f"/api/v1/polls/{poll.id}/results", headers=admin).json
                assert results["participants"] == poll.participants
                public = client.get(f"/api/v1/polls/{poll.id}")
                if poll.status == "archived":
                    assert public.status_code == 404
                else:
                    assert public.status_code == 200
                    assert public.json["participants"] == poll.participants
                    assert [o["votes"] for o in public.json["options"]] == [
                        poll.votes.get(oid, 0) for oid in poll.option_ids]

    run_state_machine_as_test(PollMachine, settings=settings(
        max_examples=12, stateful_step_count=15, deadline=None, database=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
