"""Schemathesis against the borrower, product, quote and credit operations over HTTP (live WSGI
server, real PostgreSQL, OpenBao and registry): generated input never gets a 5xx, and every
response matches the published schema (status code, content type, body).

Examples per operation are kept moderate (``EXAMPLES``) so the run stays short on a shared 2-core
machine; CI can raise them."""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.conftest import TEST_PASSWORD, DjangoApi, LiveApi, unique

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("LETSEMA_FUZZ_EXAMPLES", "12"))
PATHS = r"^/api/v1/(borrowers|loan-products|loan-quotes|credit-reports|credit-disputes)/"


@pytest.fixture(scope="module")
def admin_header(django_api: DjangoApi) -> str:
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from letsema_api.accounts.services import create_user
    from oauth2_provider.models import AccessToken

    from letsema_core.loans.application import Role

    admin = create_user(username=unique("fuzz-h8-"), password=TEST_PASSWORD, role=Role.MFI_ADMIN, created_by="tests")
    token = AccessToken.objects.create(
        user=admin,
        token=secrets.token_urlsafe(30),
        expires=timezone.now() + timedelta(hours=1),
        scope="read write approve repayments reports audit",
    )
    return f"Bearer {token.token}"


@pytest.fixture(scope="module")
def operations(live_api: LiveApi) -> list[Any]:
    loaded = schemathesis.openapi.from_url(f"{live_api.url}/api/schema/?format=json").include(path_regex=PATHS)
    return [result.ok() for result in loaded.get_all_operations()]  # type: ignore[union-attr]


def test_every_operation_of_these_resources_is_fuzzed(operations: list[Any]) -> None:
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "GET /api/v1/borrowers/",
        "POST /api/v1/borrowers/",
        "GET /api/v1/borrowers/{borrower_id}/",
        "PATCH /api/v1/borrowers/{borrower_id}/",
        "GET /api/v1/borrowers/{borrower_id}/identifiers/",
        "POST /api/v1/borrowers/{borrower_id}/identifiers/",
        "GET /api/v1/borrowers/{borrower_id}/consents/",
        "POST /api/v1/borrowers/{borrower_id}/consents/",
        "POST /api/v1/borrowers/{borrower_id}/consents/{consent_id}/revoke/",
        "GET /api/v1/borrowers/{borrower_id}/verify/",
        "POST /api/v1/borrowers/{borrower_id}/verify/",
        "GET /api/v1/borrowers/{borrower_id}/credit-file/",
        "GET /api/v1/loan-products/",
        "POST /api/v1/loan-products/",
        "GET /api/v1/loan-products/{product_id}/",
        "PATCH /api/v1/loan-products/{product_id}/",
        "POST /api/v1/loan-quotes/",
        "POST /api/v1/credit-reports/",
        "GET /api/v1/credit-disputes/",
        "POST /api/v1/credit-disputes/",
        "POST /api/v1/credit-disputes/{dispute_id}/resolve/",
    }


def test_generated_requests_never_get_a_5xx_or_an_undocumented_response(
    operations: list[Any], live_api: LiveApi, admin_header: str
) -> None:
    for operation in operations:
        run_cases(operation, schemathesis.GenerationMode.POSITIVE, live_api, admin_header)
        if len(operation.body):
            statuses = run_cases(operation, schemathesis.GenerationMode.NEGATIVE, live_api, admin_header)
            assert 400 in statuses, f"no invalid input was refused by {operation.method} {operation.path}"


def run_cases(operation: Any, mode: Any, live_api: LiveApi, admin_header: str) -> set[int]:
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case: Any) -> None:
        response = case.call_and_validate(base_url=live_api.url, headers={"Authorization": admin_header}, checks=CHECKS)
        statuses.add(response.status_code)

    call()
    return statuses
