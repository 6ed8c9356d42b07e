"""Schemathesis against the platform's own operations (``/api/v1/me/``, ``/api/v1/users/``) over
HTTP: generated input never gets a 5xx, and every response matches the published schema (status
codes, content type, body)."""

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
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import TEST_PASSWORD, DjangoApi, LiveApi, unique

# Examples per operation and mode: LETSEMA_FUZZ_EXAMPLES (the GitHub workflow runs 100).
EXAMPLES = int(os.environ.get("LETSEMA_FUZZ_EXAMPLES", "25"))

pytestmark = [pytest.mark.integration]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def admin_header(django_api: DjangoApi) -> str:
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from letsema_api.accounts.services import create_user
    from oauth2_provider.models import AccessToken

    from letsema_core.loans.application import Role

    admin = create_user(username=unique("fuzz-admin-"), password=TEST_PASSWORD, role=Role.MFI_ADMIN, created_by="tests")
    token = AccessToken.objects.create(
        user=admin,
        token=secrets.token_urlsafe(30),
        expires=timezone.now() + timedelta(hours=1),
        scope="read write approve repayments reports audit",
    )
    return f"Bearer {token.token}"


@pytest.fixture(scope="module")
def platform_schema(live_api: LiveApi) -> Any:
    loaded = schemathesis.openapi.from_url(f"{live_api.url}/api/schema/?format=json")
    return loaded.include(path_regex=r"^/api/v1/(me|users)/$")


def test_generated_requests_never_get_a_5xx_or_an_undocumented_response(
    platform_schema: Any, live_api: LiveApi, admin_header: str
) -> None:
    # Hypothesis is driven directly: schemathesis' pytest plugin does not run under pytest 9 here.
    operations = [result.ok() for result in platform_schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "GET /api/v1/me/",
        "GET /api/v1/users/",
        "POST /api/v1/users/",
    }
    for operation in operations:
        # Valid reads must succeed; valid writes may still break a rule (a taken username, a weak password).
        accept = [positive_data_acceptance] if operation.method.upper() == "GET" else []
        run_cases(operation, schemathesis.GenerationMode.POSITIVE, live_api, admin_header, accept)
        if len(operation.body) or len(operation.query):  # nothing to get wrong otherwise
            statuses = run_cases(
                operation, schemathesis.GenerationMode.NEGATIVE, live_api, admin_header, [negative_data_rejection]
            )
            assert 400 in statuses, f"no invalid input was refused by {operation.method} {operation.path}"


def run_cases(operation: Any, mode: Any, live_api: LiveApi, admin_header: str, extra: list[Any]) -> set[int]:
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: Any) -> None:
        response = case.call_and_validate(
            base_url=live_api.url, headers={"Authorization": admin_header}, checks=CHECKS + extra
        )
        statuses.add(response.status_code)

    call()
    return statuses
