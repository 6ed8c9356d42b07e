"""Shared helpers of the lending, ledger, outbox and close-of-business integration tests (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
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


@pytest.fixture
def rolled_back(django_api: Any) -> Iterator[None]:
    """The test runs in one transaction that is rolled back at the end."""
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)
