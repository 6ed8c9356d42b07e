"""Every role over every borrower, product, quote and credit operation (DOMAIN.md roles): a refused
call is a 403 ``role_not_allowed`` before anything is read or validated; an allowed one gets past the
permission check (here to a 400 or 404, since the requests name nothing that exists)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.conftest import DjangoApi
from tests.integration.test_api_borrowers import Api, assert_error

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

ANY_ID = str(uuid.uuid4())
READERS = {"mfi_admin", "branch_manager", "loan_officer", "auditor"}
WRITERS = {"mfi_admin", "branch_manager", "loan_officer"}
ADMINS = {"mfi_admin"}

# (method, path, roles allowed)
OPERATIONS: list[tuple[str, str, set[str]]] = [
    ("GET", "/api/v1/borrowers/", READERS),
    ("POST", "/api/v1/borrowers/", WRITERS),
    ("GET", f"/api/v1/borrowers/{ANY_ID}/", READERS),
    ("PATCH", f"/api/v1/borrowers/{ANY_ID}/", WRITERS),
    ("GET", f"/api/v1/borrowers/{ANY_ID}/identifiers/", READERS),
    ("POST", f"/api/v1/borrowers/{ANY_ID}/identifiers/", WRITERS),
    ("GET", f"/api/v1/borrowers/{ANY_ID}/consents/", READERS),
    ("POST", f"/api/v1/borrowers/{ANY_ID}/consents/", WRITERS),
    ("POST", f"/api/v1/borrowers/{ANY_ID}/consents/{ANY_ID}/revoke/", WRITERS),
    ("GET", f"/api/v1/borrowers/{ANY_ID}/verify/", READERS),
    ("POST", f"/api/v1/borrowers/{ANY_ID}/verify/", WRITERS),
    ("GET", f"/api/v1/borrowers/{ANY_ID}/credit-file/", READERS),
    ("GET", "/api/v1/loan-products/", READERS),
    ("POST", "/api/v1/loan-products/", ADMINS),
    ("GET", f"/api/v1/loan-products/{ANY_ID}/", READERS),
    ("PATCH", f"/api/v1/loan-products/{ANY_ID}/", ADMINS),
    ("POST", "/api/v1/loan-quotes/", WRITERS),
    ("POST", "/api/v1/credit-reports/", WRITERS),
    ("GET", "/api/v1/credit-disputes/", READERS),
    ("POST", "/api/v1/credit-disputes/", WRITERS),
    ("POST", f"/api/v1/credit-disputes/{ANY_ID}/resolve/", WRITERS),
]


@pytest.fixture
def as_role(django_api: DjangoApi, make_user: Any, bearer: Any) -> Any:
    from rest_framework.test import APIClient

    def make(role: str, scopes: str | None = None) -> Api:
        user = make_user(role)
        return Api(APIClient(), bearer(user, scopes), user)

    return make


def call(api: Api, method: str, path: str) -> Any:
    if method == "GET":
        return api.get(path)
    if method == "PATCH":
        return api.patch(path, {})
    return api.post(path, {})


@pytest.mark.parametrize("role", ["mfi_admin", "branch_manager", "loan_officer", "auditor", "integration"])
def test_each_role_reaches_exactly_its_operations(as_role: Any, role: str) -> None:
    from letsema_api.common.models import AuditEvent

    api = as_role(role)
    events_before = AuditEvent.objects.count()
    outcomes: dict[str, int] = {}
    for method, path, allowed in OPERATIONS:
        response = call(api, method, path)
        outcomes[f"{method} {path}"] = response.status_code
        if role in allowed:
            assert response.status_code in {200, 400, 404}, (method, path, response.content)
        else:
            body = assert_error(response, 403, "role_not_allowed")
            assert body["details"]["role"] == role
    assert AuditEvent.objects.count() == events_before, outcomes


def test_a_token_without_the_write_scope_cannot_write(as_role: Any) -> None:
    officer = as_role("loan_officer", scopes="read")
    assert officer.get("/api/v1/borrowers/").status_code == 200
    body = assert_error(officer.post("/api/v1/borrowers/", {}), 403, "insufficient_scope")
    assert body["details"]["required_scope"] == "write"
