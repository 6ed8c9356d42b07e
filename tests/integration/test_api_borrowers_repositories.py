"""The Django borrower, consent and product repositories pass the core's contract suites against the real
PostgreSQL and OpenBao (Transit encryption and HMAC). Each test runs in a transaction that is rolled back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from letsema_core.errors import NotFound
from letsema_core.identity import NationalId
from tests.contracts.borrower_repository import BorrowerRepositoryContract, make_borrower
from tests.contracts.consent_repository import ConsentRepositoryContract
from tests.integration.conftest import DjangoApi

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


class NamespacedHasher:
    """The tenant's real Transit HMAC over ``<namespace>|message``: lookup keys of this test cannot
    collide with borrowers other tests committed with the same ID numbers."""

    def __init__(self, inner: Any, namespace: str) -> None:
        self._inner = inner
        self._namespace = namespace

    def digest(self, message: str) -> str:
        return str(self._inner.digest(f"{self._namespace}|{message}"))


@pytest.fixture
def rolled_back(django_api: DjangoApi) -> Iterator[None]:
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def django_borrowers(rolled_back: None) -> Any:
    from letsema_api.borrowers.repositories import DjangoBorrowerRepository
    from letsema_api.vault import get_vault

    vault = get_vault()
    return DjangoBorrowerRepository(cipher=vault, hasher=NamespacedHasher(vault.keyed_hasher(), uuid.uuid4().hex))


class TestDjangoBorrowerRepository(BorrowerRepositoryContract):
    @pytest.fixture
    def borrowers(self, django_borrowers: Any) -> Any:
        return django_borrowers

    def test_rows_hold_no_plaintext_identifier_or_phone(self, borrowers: Any) -> None:
        from django.db import connection

        borrowers.add(make_borrower())
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM borrowers_borrower WHERE id = 'B-1'")
            borrower_row = " ".join(str(v) for v in cursor.fetchone())
            cursor.execute("SELECT * FROM borrowers_borroweridentifier WHERE borrower_id = 'B-1'")
            identifier_rows = " ".join(str(v) for row in cursor.fetchall() for v in row)
        assert "012345678901" not in identifier_rows
        assert "vault:v" in identifier_rows
        assert "58123456" not in borrower_row
        assert "Palesa" in borrower_row  # the row was read: names stay searchable

    def test_added_identifier_is_found_and_kept_in_order(self, borrowers: Any) -> None:
        borrowers.add(make_borrower())
        extra = NationalId.parse("555555555555")
        borrowers.add_identifier("B-1", extra)
        assert borrowers.get("B-1").identifiers[-1] == extra
        found = borrowers.find_by_identifier(extra)
        assert found is not None
        assert found.id == "B-1"

    def test_identifier_for_an_unknown_borrower_is_not_found(self, borrowers: Any) -> None:
        with pytest.raises(NotFound):
            borrowers.add_identifier("B-404", NationalId.parse("555555555555"))


class TestDjangoConsentRepository(ConsentRepositoryContract):
    @pytest.fixture
    def consents(self, django_borrowers: Any) -> Any:
        from letsema_api.borrowers.repositories import DjangoConsentRepository

        # The consents' borrowers exist, as the foreign key wants them to.
        django_borrowers.add(make_borrower("B-1"))
        django_borrowers.add(make_borrower("B-2", identifiers=[NationalId.parse("111111111111")]))
        return DjangoConsentRepository()


class TestDjangoProductRepository:
    @pytest.fixture
    def products(self, rolled_back: None) -> Any:
        from letsema_api.products.repositories import DjangoProductRepository

        return DjangoProductRepository()

    def test_added_product_is_returned_unchanged(self, products: Any) -> None:
        from letsema_core.products import LoanProduct

        product = LoanProduct(
            code=f"P-{uuid.uuid4().hex[:8]}",
            name="Small business",
            principal_min="500.00",
            principal_max="50000.00",
            term_min=3,
            term_max=24,
            repayment_frequency="monthly",
            annual_interest_rate_percent="23.125",
            interest_method="declining_balance",
            grace_periods_principal=1,
            upfront_fee_percent="2.5",
            upfront_fee_amount="25.00",
            late_penalty_percent="5",
            penalty_grace_days=3,
            approval_limit="20000.00",
            max_debt_to_income_percent="40",
            credit_check_mandatory=False,
        )
        products.add("P-1", product)
        assert products.get("P-1") == product
        assert products.get("P-1").annual_interest_rate_percent == product.annual_interest_rate_percent

    def test_adding_again_replaces_the_product(self, products: Any) -> None:
        from dataclasses import replace

        from letsema_core.products import LoanProduct

        product = LoanProduct(
            code=f"P-{uuid.uuid4().hex[:8]}",
            name="Salary advance",
            principal_min="100",
            principal_max="5000",
            term_min=1,
            term_max=6,
            repayment_frequency="weekly",
            annual_interest_rate_percent="30",
            interest_method="flat",
            approval_limit="3000",
            max_debt_to_income_percent="35",
        )
        products.add("P-1", product)
        products.add("P-1", replace(product, name="Salary advance II"))
        assert products.get("P-1").name == "Salary advance II"

    def test_unknown_product_is_not_found(self, products: Any) -> None:
        with pytest.raises(NotFound):
            products.get("P-404")
