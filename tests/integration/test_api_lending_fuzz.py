"""Schemathesis against the lending, loan, repayment and ledger operations over HTTP: generated input
(valid and invalid) never gets a 5xx, and every response matches the published schema."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import LiveApi

# Examples per operation and mode: LETSEMA_FUZZ_EXAMPLES (the GitHub workflow runs 100).
EXAMPLES = int(os.environ.get("LETSEMA_FUZZ_EXAMPLES", "12"))

pytestmark = [pytest.mark.integration]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PATHS = r"^/api/v1/(loan-applications|loans|repayments|journal-entries|reports/trial-balance)/"


@pytest.fixture(scope="module")
def admin_header(django_api: Any) -> str:
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from letsema_api.accounts.services import create_user
    from oauth2_provider.models import AccessToken

    from letsema_core.loans.application import Role
    from tests.integration.conftest import TEST_PASSWORD, unique

    admin = create_user(
        username=unique("fuzz-lending-"), password=TEST_PASSWORD, role=Role.MFI_ADMIN, created_by="tests"
    )
    token = AccessToken.objects.create(
        user=admin,
        token=secrets.token_urlsafe(30),
        expires=timezone.now() + timedelta(hours=1),
        scope="read write approve repayments reports audit",
    )
    return f"Bearer {token.token}"


@pytest.fixture(scope="module")
def lending_schema(live_api: LiveApi) -> Any:
    return schemathesis.openapi.from_url(f"{live_api.url}/api/schema/?format=json").include(path_regex=PATHS)


def run_cases(operation: Any, mode: Any, live_api: LiveApi, header: str, extra: list[Any]) -> set[int]:
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: Any) -> None:
        headers = {"Authorization": header}
        response = case.call_and_validate(base_url=live_api.url, headers=headers, checks=CHECKS + extra)
        statuses.add(response.status_code)

    call()
    return statuses


def test_generated_requests_never_get_a_5xx_or_an_undocumented_response(
    lending_schema: Any, live_api: LiveApi, admin_header: str
) -> None:
    operations = [result.ok() for result in lending_schema.get_all_operations()]
    assert len(operations) == 19
    for operation in operations:
        run_cases(operation, schemathesis.GenerationMode.POSITIVE, live_api, admin_header, [])
        if len(operation.body) or len(operation.query):
            statuses = run_cases(
                operation, schemathesis.GenerationMode.NEGATIVE, live_api, admin_header, [negative_data_rejection]
            )
            assert statuses & {400, 404}, f"no invalid input was refused by {operation.method} {operation.path}"
