"""Property-based: requests generated from /openapi.json never cause a 5xx, and every answer matches the document.

Each operation is called with a token of a role it allows (its `x-roles`), so generated data reaches the views and
the ledger rather than stopping at 403. Positive cases follow the document; negative cases break it and must be
refused with a 4xx. Examples per operation are few, to keep the run under a minute. (schemathesis' lazy
`from_fixture` loader does not work with pytest 9, so operations are driven through their hypothesis strategies.)
"""

from __future__ import annotations

import pytest
import schemathesis
from http_world import BILL_ID, TOKENS, build_api
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 8}
KNOWN = {"subscriber_no": "DI-1", "bill_id": BILL_ID, "bank": "CBS", "payment_ref": "TX1", "code": "SY-DI"}


def token_for(operation) -> str:
    role = (operation.definition.raw.get("x-roles") or ["staff"])[0]
    return TOKENS["bank:CBS" if role == "bank" else role]


def exercise(operation, mode: GenerationMode) -> None:
    headers = {"Authorization": f"Bearer {token_for(operation)}"}
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_generated_requests_never_fail_and_answers_match_the_document(sqlite_url, make_ledger, template, mode):
    api = build_api(sqlite_url, make_ledger, template)
    api.billed()
    api.pay("1000.00")
    staff = {"Authorization": f"Bearer {TOKENS['staff']}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api.client.application, headers=staff)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            exercise(operation, mode)
        except Unsatisfiable:
            continue  # nothing of this operation can be made invalid (no parameters, no body)
        except Exception as failure:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)


def test_answers_about_existing_records_match_the_document(sqlite_url, make_ledger, template):
    """Random path parameters rarely name a real record, so read the seeded ones too and validate those answers."""
    api = build_api(sqlite_url, make_ledger, template)
    api.billed()
    api.pay("1000.00")
    staff = {"Authorization": f"Bearer {TOKENS['staff']}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api.client.application, headers=staff)
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue
        names = [parameter.name for parameter in operation.path_parameters]
        case = operation.Case(path_parameters={name: KNOWN[name] for name in names})
        response = case.call_and_validate(headers={"Authorization": f"Bearer {token_for(operation)}"}, checks=CHECKS)
        assert response.status_code == 200, (operation.label, response.text)
        checked += 1
    assert checked >= 8
