"""Schemathesis against the payments operations over HTTP: generated input (valid and invalid) never gets
a 5xx, and every response matches the published schema. The callback's generated requests carry no valid
signature, so they must all be refused as documented (401), never crash it."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from tests.integration.conftest import LiveApi
from tests.integration.test_api_lending_fuzz import admin_header, run_cases

pytestmark = [pytest.mark.integration]

__all__ = ["admin_header"]  # fixture

PATHS = r"^/api/v1/payments/"


@pytest.fixture(scope="module")
def payments_schema(live_api: LiveApi) -> Any:
    return schemathesis.openapi.from_url(f"{live_api.url}/api/schema/?format=json").include(path_regex=PATHS)


def test_generated_requests_never_get_a_5xx_or_an_undocumented_response(
    payments_schema: Any, live_api: LiveApi, admin_header: str
) -> None:
    from schemathesis.specs.openapi.checks import negative_data_rejection

    operations = [result.ok() for result in payments_schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "POST /api/v1/payments/mpesa/callback/",
        "GET /api/v1/payments/suspense/",
        "GET /api/v1/payments/suspense/{item_id}/",
        "POST /api/v1/payments/suspense/{item_id}/resolve/",
    }
    for operation in operations:
        statuses = run_cases(operation, schemathesis.GenerationMode.POSITIVE, live_api, admin_header, [])
        if operation.path.endswith("/callback/"):
            assert statuses == {401}, statuses
        if len(operation.body) or len(operation.query):
            statuses = run_cases(
                operation, schemathesis.GenerationMode.NEGATIVE, live_api, admin_header, [negative_data_rejection]
            )
            assert statuses & {400, 401, 404}, f"no invalid input was refused by {operation.method} {operation.path}"
