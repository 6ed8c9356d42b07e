"""Shared helpers of the lending, ledger, outbox and close-of-business integration tests (no tests here)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.products import LoanProduct

pytestmark = pytest.mark.integration


def contract_product(code: str) -> LoanProduct:
    return LoanProduct(
        code=code,
        name="Business 12",
        principal_min="500.00",
        principal_max="50000.00",
        term_min=3,
        term_max=24,
        repayment_frequency="monthly",
        annual_interest_rate_percent="24",
        interest_method="declining_balance",
        amortization="equal_installments",
        late_penalty_percent="5",
        penalty_grace_days=3,
        approval_limit="20000.00",
        max_debt_to_income_percent="40",
        credit_check_mandatory=False,
    )


def seed_contract_parties() -> None:
    """Borrower ``B-1`` and product ``biz12``: the ids the core's contract suites use (foreign keys)."""
    import uuid

    from letsema_api.borrowers.models import Borrower
    from letsema_api.products.repositories import DjangoProductRepository

    Borrower.objects.get_or_create(
        id="B-1",
        defaults={
            "first_name": "Contract",
            "last_name": "Borrower",
            "normalised_name": "contract borrower",
            "date_of_birth": date(1990, 1, 1),
            "district": "maseru",
            "phone_ciphertext": "vault:v1:not-a-phone",
            "monthly_income": Decimal("5000.00"),
            "created_by": "tests",
            "created_on": date(2026, 1, 1),
        },
    )
    DjangoProductRepository().add("biz12", contract_product(f"biz12-{uuid.uuid4().hex[:8]}"))


# Child tables first (foreign keys); audit events are not touched.
_TABLES = (
    "lending_installment",
    "lending_loantransaction",
    "lending_loan",
    "lending_creditassessment",
    "lending_loanapplication",
    "lending_idempotencyrecord",
    "ledger_journalline",
    "ledger_journalentry",
    "outbox_outboxevent",
)


def empty_tables() -> None:
    """Delete every lending, ledger and outbox row (call inside ``rolled_back``: they come back after the
    test). The contract suites expect an empty repository, and other tests commit loans and entries."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f'DELETE FROM "{table}"')  # noqa: S608 - fixed table names


@pytest.fixture
def empty(rolled_back: None) -> None:
    empty_tables()


@pytest.fixture
def rolled_back(django_api: Any) -> Iterator[None]:
    """The test runs in one transaction that is rolled back at the end."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


class Http:
    """A user's view of the API: ``get``/``post`` with the user's bearer token; JSON bodies."""

    def __init__(self, user: Any, authorization: str) -> None:
        from rest_framework.test import APIClient

        self.user = user
        self.authorization = authorization
        self.client = APIClient(raise_request_exception=False)
        self.client.credentials(HTTP_AUTHORIZATION=authorization)

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params)

    def post(self, url: str, body: Any | None = None, **headers: str) -> Any:
        return self.client.post(url, body if body is not None else {}, format="json", headers=headers)


def client_credentials_token(owner: Any, *, scope: str = "repayments") -> str:
    """A bearer token as the client-credentials grant issues it: an OAuth client (confidential, client
    credentials) owned by ``owner``, and a token of that client with no user of its own, valid for an hour."""
    import secrets
    import uuid
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    application = Application.objects.create(
        name=f"gateway-{uuid.uuid4().hex[:8]}",
        user=owner,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    token = AccessToken.objects.create(
        user=None,
        application=application,
        token=secrets.token_urlsafe(30),
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )
    return str(token.token)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code, body
    return body


@pytest.fixture
def as_role(make_user: Any, bearer: Any) -> Any:
    def make(role: str) -> Http:
        user = make_user(role)
        return Http(user, bearer(user))

    return make


@pytest.fixture
def product_id(django_api: Any) -> str:
    """A monthly 24 % declining-balance product, credit check mandatory, approval limit 20 000."""
    from dataclasses import replace

    from letsema_api.products.repositories import DjangoProductRepository

    product_id = str(uuid.uuid4())
    product = replace(contract_product(f"biz-{product_id[:8]}"), credit_check_mandatory=True)
    DjangoProductRepository().add(product_id, product)
    return product_id


@pytest.fixture
def borrower_id(django_api: Any) -> str:
    """A borrower with a fresh national ID and an active consent to credit reports."""
    from letsema_api.borrowers.repositories import DjangoConsentRepository
    from letsema_api.borrowers.services import borrower_repository

    from letsema_core.services import record_consent, register_borrower

    borrower_id = str(uuid.uuid4())
    borrowers = borrower_repository()
    register_borrower(
        borrower_id=borrower_id,
        first_name="Palesa",
        last_name=f"Mokoena{secrets.token_hex(3)}",
        date_of_birth=date(1988, 4, 2),
        district="maseru",
        phone="+26658123456",
        monthly_income="12000.00",
        identifiers=[
            {"type": "lesotho_national_id", "value": "".join(secrets.choice("0123456789") for _ in range(12))}
        ],
        created_by="tests",
        on=date(2026, 1, 2),
        borrowers=borrowers,
    )
    record_consent(
        consent_id=str(uuid.uuid4()),
        borrower_id=borrower_id,
        purpose="credit_report",
        method="written",
        granted_at=datetime(2026, 1, 2, 8, 0, tzinfo=UTC),
        recorded_by="tests",
        reference="form-17",
        borrowers=borrowers,
        consents=DjangoConsentRepository(),
    )
    return borrower_id


def apply(officer: Http, *, borrower_id: str, product_id: str, principal: str = "10000.00") -> str:
    body = {"borrower_id": borrower_id, "product_id": product_id, "principal": principal, "term_in_periods": 12}
    created = ok(officer.post("/api/v1/loan-applications/", body), 201)
    assert created["status"] == "draft"
    assert ok(officer.post(f"/api/v1/loan-applications/{created['id']}/submit/"))["status"] == "submitted"
    return str(created["id"])


def approved_loan(as_role: Any, *, borrower_id: str, product_id: str) -> tuple[Http, Http, str]:
    officer, manager = as_role("loan_officer"), as_role("branch_manager")
    application_id = apply(officer, borrower_id=borrower_id, product_id=product_id)
    ok(officer.post(f"/api/v1/loan-applications/{application_id}/assess/"))
    ok(manager.post(f"/api/v1/loan-applications/{application_id}/approve/"))
    loan = ok(
        officer.post(f"/api/v1/loan-applications/{application_id}/disburse/", {"disbursed_on": "2026-01-05"}), 201
    )
    return officer, manager, str(loan["id"])
