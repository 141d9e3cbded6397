"""Property-based API fuzzing with schemathesis against ``/openapi.json``.

Every documented operation gets positive (schema-valid) and negative (schema-breaking) cases, sent
through the WSGI app with an admin key (and without one where the operation is public), on a
database seeded with polls, a vote and an archived poll. Checked: no 5xx, documented status codes
and content types, and bodies that match the documented schemas.

Bounded for CI (``POLLSVC_FUZZ_EXAMPLES`` per operation and mode, default 12, derandomised so a run
is repeatable); set ``POLLSVC_FUZZ_EXAMPLES=500 POLLSVC_FUZZ_RANDOM=1`` for a deep run.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from typing import Any

import hypothesis.strategies as st
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from pollsvc import create_app

EXAMPLES = int(os.environ.get("POLLSVC_FUZZ_EXAMPLES", "12"))
RANDOM = bool(os.environ.get("POLLSVC_FUZZ_RANDOM"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CASES: Counter[str] = Counter()
STATUSES: Counter[tuple[str, int]] = Counter()

# The document only: an app on a throwaway SQLite file serves it, no database needed.
_SPEC_APP = create_app({"INSTANCE_PATH": tempfile.mkdtemp(prefix="pollsvc-spec-"), "secret_key": "spec"})
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.json", _SPEC_APP)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _is_public(operation: Any) -> bool:
    """No key needed: the operation's security (else the document's) is empty or has an empty
    requirement (``getPoll`` inherits the document's "no key, or a key")."""
    security = operation.definition.raw.get("security", SCHEMA.raw_schema.get("security"))
    return security is not None and (not security or any(not requirement for requirement in security))


def _cases(operation: Any, mode: GenerationMode, poll_ids: list[int]) -> Any:
    """Cases of ``operation``; a ``poll_id`` is mostly one of the seeded polls, else anything."""
    if "{poll_id}" not in operation.path:
        return operation.as_strategy(mode)
    seeded_ids = st.sampled_from(poll_ids).flatmap(
        lambda poll_id: operation.as_strategy(mode, path_parameters={"poll_id": poll_id}))
    return st.one_of(seeded_ids, seeded_ids, operation.as_strategy(mode))


@pytest.fixture
def seeded(app: Any, client: Any, admin: dict[str, str], make_poll: Any, voter_token: Any) -> dict[str, Any]:
    """Three polls (open with a vote, closed, archived), so fuzzed ids hit real rows."""
    first = make_poll(results_visibility="always")
    client.post(f"/api/v1/polls/{first['id']}/votes", json={"option_ids": [first["options"][0]["id"]]},
                headers={"X-Voter-Token": voter_token()})
    make_poll(status="closed", max_choices=2)
    archived = make_poll(dedup="ip")
    client.delete(f"/api/v1/polls/{archived['id']}", headers=admin)
    return {"app": app, "admin": admin, "poll_ids": list(range(first["id"], archived["id"] + 1))}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_operation_conforms_to_its_documentation(operation: Any, seeded: dict[str, Any]) -> None:
    app, admin = seeded["app"], seeded["admin"]
    public = _is_public(operation)
    strategy = st.one_of(*(_cases(operation, mode, seeded["poll_ids"])
                           for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))

    @settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy, with_key=st.booleans() if public else st.just(True))
    def run(case: Any, with_key: bool) -> None:
        # Schemathesis's WSGI transport sends Accept-Encoding but never decodes: ask for the
        # identity bytes (tests/test_delivery.py checks the compressed ones decode to the same).
        headers = {**(admin if with_key else {}), "Accept-Encoding": "identity"}
        response = case.call(app=app, headers=headers)
        CASES[operation.label] += 1
        STATUSES[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
    assert CASES[operation.label] > 0


def test_report_fuzzed_case_count() -> None:
    """Runs last in this module: prints how many cases the fuzzing sent (shown with -s or -rA)."""
    total = sum(CASES.values())
    print(f"schemathesis: {total} cases over {len(CASES)} operations: {dict(CASES)}")
    print(f"statuses: {sorted(STATUSES.items())}")
    if os.environ.get("POLLSVC_FUZZ_REPORT"):
        with open(os.environ["POLLSVC_FUZZ_REPORT"], "a") as handle:
            handle.write(f"schemathesis: {total} cases over {len(CASES)} operations\n")
