"""The Django application and loan repositories pass the core's contract suites against the real
PostgreSQL (each test in a transaction that is rolled back), and store loans the way the API needs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from letsema_core.loans import Loan
from tests.contracts.application_repository import ApplicationRepositoryContract
from tests.contracts.loan_repository import LoanRepositoryContract, make_loan
from tests.integration.test_api_lending_support import empty, rolled_back, seed_contract_parties

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["empty", "rolled_back"]


@pytest.fixture
def parties(empty: None) -> None:
    seed_contract_parties()


class TestDjangoApplicationRepository(ApplicationRepositoryContract):
    @pytest.fixture
    def applications(self, parties: None) -> Any:
        from letsema_api.lending.repositories import DjangoApplicationRepository

        return DjangoApplicationRepository()


class TestDjangoLoanRepository(LoanRepositoryContract):
    @pytest.fixture
    def loans(self, parties: None) -> Any:
        from letsema_api.lending.repositories import DjangoLoanRepository

        return DjangoLoanRepository()


class TestDeferredLoanRepository(LoanRepositoryContract):
    """Close of business's variant (``deferred=True``) keeps the contract once flushed after each save."""

    @pytest.fixture
    def loans(self, parties: None) -> Any:
        from letsema_api.lending.repositories import DjangoLoanRepository

        class FlushingRepository(DjangoLoanRepository):
            def save(self, loan: Loan) -> None:
                super().save(loan)
                self.flush()

        return FlushingRepository(deferred=True)


class TestLoanStorage:
    def test_a_loan_is_read_with_one_query(self, parties: None) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from letsema_api.lending.repositories import DjangoLoanRepository

        loans = DjangoLoanRepository()
        loan = make_loan()
        loans.add(loan)
        stored = loans.get("L-1")
        stored.record_repayment(on=date(2026, 2, 5), amount="945.60")
        loans.save(stored)
        with CaptureQueriesContext(connection) as queries:
            again = DjangoLoanRepository().get("L-1")
        assert len(queries.captured_queries) == 1  # the loan with its installments and transactions
        assert again.state() == stored.state()

    def test_deferred_saves_write_nothing_until_flushed(self, parties: None) -> None:
        from letsema_api.lending.repositories import DjangoLoanRepository

        DjangoLoanRepository().add(make_loan())
        deferred = DjangoLoanRepository(deferred=True)
        loan = deferred.get("L-1")
        loan.close_business_day(as_of=date(2026, 2, 20))
        deferred.save(loan)
        assert DjangoLoanRepository().get("L-1").last_close_of_business is None
        assert deferred.flush() == 1
        assert DjangoLoanRepository().get("L-1").state() == loan.state()

    def test_outstanding_balances_are_columns_for_reports(self, parties: None) -> None:
        from letsema_api.lending import models
        from letsema_api.lending.repositories import DjangoLoanRepository

        loans = DjangoLoanRepository()
        loans.add(make_loan())
        loan = loans.get("L-1")
        loan.record_repayment(on=date(2026, 2, 5), amount="945.60")
        loans.save(loan)
        row = models.Loan.objects.get(id="L-1")
        first = models.Installment.objects.get(loan_id="L-1", number=1)
        assert row.outstanding_principal == loan.outstanding_principal
        assert (first.principal_outstanding, first.interest_outstanding) == (0, 0)
