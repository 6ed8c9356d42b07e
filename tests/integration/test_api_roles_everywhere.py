"""Every role over every operation of the published API (DOMAIN.md "Roles per tenant").

The operations come from the OpenAPI schema itself, so an endpoint added later is walked too.
Path ids are ones that do not exist and write bodies are empty: a role that may act gets past the
permission check (to a 400, 404, 409 or 422), a role that may not gets 403 (or 405 where the
operation is read-only) — and nothing is written either way.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.integration

# Not role-governed: OAuth endpoints, health, schema, and the signed M-Pesa callback (HMAC, no token).
EXCLUDED = re.compile(r"^/(o/|accounts/|healthz|readyz|metrics|api/schema|api/docs|api/v1/payments/mpesa/callback/)")
WRITES = {"post", "put", "patch", "delete"}
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def operations(django_api: Any) -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = [
        (method, re.sub(r"\{[^}]+\}", MISSING_ID, path))
        for path, item in schema["paths"].items()
        if not EXCLUDED.match(path)
        for method in item
        if method in WRITES | {"get"}
    ]
    assert len(ops) >= 40, f"the schema lists too few operations to walk: {ops}"
    return ops


@pytest.fixture(scope="module")
def clients(django_api: Any) -> dict[str, Any]:
    """One API client per role, each with a token carrying every scope its role allows."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from letsema_api.accounts.permissions import role_scopes
    from letsema_api.accounts.services import create_user
    from oauth2_provider.models import AccessToken
    from rest_framework.test import APIClient

    from letsema_core.loans.application import Role

    out = {}
    for role in Role:
        user = create_user(
            username=f"walk-{role.value}-{secrets.token_hex(3)}",
            password=secrets.token_urlsafe(16),
            role=role,
            created_by="tests",
        )
        token = AccessToken.objects.create(
            user=user,
            token=secrets.token_urlsafe(30),
            expires=timezone.now() + timedelta(hours=1),
            scope=" ".join(sorted(role_scopes(role))),
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        out[role.value] = client
    return out


def _call(client: Any, method: str, path: str) -> int:
    kwargs: dict[str, Any] = {"format": "json", "HTTP_IDEMPOTENCY_KEY": f"walk-{MISSING_ID}"}
    if method in WRITES:
        kwargs["data"] = {}
    return int(getattr(client, method)(path, **kwargs).status_code)


def _table(results: dict[tuple[str, str], int]) -> str:
    return "\n".join(f"  {m.upper():6} {p} -> {s}" for (m, p), s in sorted(results.items()))


class TestEveryRoleOverEveryEndpoint:
    def test_an_auditor_reads_everything_and_writes_nothing(self, operations: Any, clients: Any) -> None:
        results = {(m, p): _call(clients["auditor"], m, p) for m, p in operations}
        wrote = {k: s for k, s in results.items() if k[0] in WRITES and s not in (403, 405)}
        refused_reads = {k: s for k, s in results.items() if k[0] == "get" and s in (401, 403)}
        assert not wrote, "the auditor got past the permission check on writes:\n" + _table(wrote)
        assert not refused_reads, "the auditor was refused reads:\n" + _table(refused_reads)

    def test_an_integration_client_can_only_post_repayments(self, operations: Any, clients: Any) -> None:
        results = {(m, p): _call(clients["integration"], m, p) for m, p in operations}
        repayments = ("post", f"/api/v1/loans/{MISSING_ID}/repayments/")
        assert repayments in results, "the repayments operation is missing from the schema"
        assert results.pop(repayments) not in (401, 403)
        # Every authenticated principal may ask who it is.
        assert results.pop(("get", "/api/v1/me/")) == 200
        allowed = {k: s for k, s in results.items() if s not in (403, 405)}
        assert not allowed, "the integration client got past the permission check:\n" + _table(allowed)

    def test_only_managers_and_admins_approve_reject_or_write_off(self, operations: Any, clients: Any) -> None:
        deciding = [(m, p) for m, p in operations if m == "post" and re.search(r"/(approve|reject|write-off)/$", p)]
        assert len(deciding) == 3, deciding
        for role in ("loan_officer", "auditor", "integration"):
            for method, path in deciding:
                assert _call(clients[role], method, path) == 403, f"{role} {path}"
        for role in ("branch_manager", "mfi_admin"):
            for method, path in deciding:
                assert _call(clients[role], method, path) not in (401, 403), f"{role} {path}"

    def test_the_audit_trail_is_for_auditors_and_admins_only(self, operations: Any, clients: Any) -> None:
        for role, allowed in (
            ("auditor", True),
            ("mfi_admin", True),
            ("branch_manager", False),
            ("loan_officer", False),
            ("integration", False),
        ):
            status = _call(clients[role], "get", "/api/v1/audit-events/")
            assert (status == 200) is allowed, f"{role}: {status}"

    def test_a_failed_walk_wrote_no_audit_event(self, operations: Any, clients: Any) -> None:
        from letsema_api.common.models import AuditEvent

        before = AuditEvent.objects.count()
        for role in ("auditor", "integration"):
            for method, path in operations:
                _call(clients[role], method, path)
        assert AuditEvent.objects.count() == before


class TestListsRefuseUnknownFilters:
    @pytest.mark.parametrize(
        "path", ["/api/v1/borrowers/", "/api/v1/loan-products/", "/api/v1/loans/", "/api/v1/audit-events/"]
    )
    def test_a_misspelt_filter_is_a_400_naming_it(self, clients: Any, path: str) -> None:
        response = clients["mfi_admin"].get(path, {"distrct": "maseru"})
        assert response.status_code == 400, response.content
        body = response.json()
        assert (body["details"]["field"], body["details"]["rule"]) == ("distrct", "unknown_field")
