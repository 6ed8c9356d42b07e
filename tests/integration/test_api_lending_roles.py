"""Every role over every lending, loan, repayment and ledger endpoint: a role without the endpoint's action
gets 403 ``role_not_allowed`` (and nothing runs); a role with it gets past the permission check."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_api_lending_support import Http, as_role

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role"]  # fixtures

MISSING = "no-such-id"
ENDPOINTS = [
    ("GET", "/api/v1/loan-applications/", "read"),
    ("POST", "/api/v1/loan-applications/", "write"),
    ("GET", f"/api/v1/loan-applications/{MISSING}/", "read"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/submit/", "write"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/assess/", "write"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/approve/", "approve"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/reject/", "approve"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/withdraw/", "write"),
    ("POST", f"/api/v1/loan-applications/{MISSING}/disburse/", "write"),
    ("GET", "/api/v1/loans/", "read"),
    ("GET", f"/api/v1/loans/{MISSING}/", "read"),
    ("GET", f"/api/v1/loans/{MISSING}/schedule/", "read"),
    ("GET", f"/api/v1/loans/{MISSING}/statement/", "read"),
    ("GET", f"/api/v1/loans/{MISSING}/payoff/", "read"),
    ("POST", f"/api/v1/loans/{MISSING}/repayments/", "post_repayment"),
    ("POST", f"/api/v1/loans/{MISSING}/write-off/", "approve"),
    ("POST", f"/api/v1/repayments/{MISSING}/reverse/", "write"),
    ("GET", "/api/v1/journal-entries/", "audit"),
    ("GET", "/api/v1/reports/trial-balance/", "reports"),
]
ROLES = ["mfi_admin", "branch_manager", "loan_officer", "auditor", "integration"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_endpoints_of_its_actions(as_role: Any, role: str) -> None:
    from letsema_api.accounts.permissions import ROLE_ACTIONS, Action

    from letsema_core.loans import Role

    user: Http = as_role(role)
    allowed_actions = {a.value for a in ROLE_ACTIONS[Role(role)]}
    outcomes: dict[str, tuple[int, str]] = {}
    for method, path, action in ENDPOINTS:
        assert Action(action)  # the table names real actions
        response = user.get(path) if method == "GET" else user.post(path, {}, **{"Idempotency-Key": "roles-0001-key"})
        code = response.json().get("code", "") if response.status_code >= 400 else ""
        outcomes[f"{method} {path}"] = (response.status_code, code)
    refused = {k for k, (status, code) in outcomes.items() if (status, code) == (403, "role_not_allowed")}
    expected = {f"{m} {p}" for m, p, a in ENDPOINTS if a not in allowed_actions}
    assert refused == expected, outcomes
    assert all(status < 500 for status, _ in outcomes.values()), outcomes
