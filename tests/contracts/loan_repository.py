"""Contract of the ``LoanRepository`` port. Provide ``loans`` returning an empty repository."""

from __future__ import annotations

from datetime import date

import pytest

from letsema_core.errors import NotFound, ValidationError
from letsema_core.loans import Loan
from letsema_core.ports import LoanRepository
from letsema_core.schedules import LoanTerms, generate_schedule
from tests.contracts import FloatTrapped


def make_loan(loan_id: str = "L-1") -> Loan:
    terms = LoanTerms(
        principal="10000.00",
        annual_interest_rate_percent="24",
        term_in_periods=12,
        repayment_frequency="monthly",
        interest_method="declining_balance",
        amortization="equal_installments",
        disbursement_date=date(2026, 1, 5),
    )
    return Loan(
        loan_id=loan_id,
        schedule=generate_schedule(terms),
        disbursed_on=date(2026, 1, 5),
        borrower_id="B-1",
        application_id=f"A-{loan_id}",
        product_id="biz12",
        late_penalty_percent="5",
        penalty_grace_days=3,
    )


class LoanRepositoryContract(FloatTrapped):
    @pytest.fixture
    def loans(self) -> LoanRepository:
        raise NotImplementedError

    def test_implements_the_port(self, loans: LoanRepository) -> None:
        assert isinstance(loans, LoanRepository)

    def test_added_loan_comes_back_in_the_same_state(self, loans: LoanRepository) -> None:
        loan = make_loan()
        loans.add(loan)
        stored = loans.get("L-1")
        assert stored.state() == loan.state()
        assert stored.statement() == loan.statement()
        assert (stored.borrower_id, stored.product_id, stored.principal) == ("B-1", "biz12", loan.principal)

    def test_adding_an_existing_id_is_refused(self, loans: LoanRepository) -> None:
        loans.add(make_loan())
        with pytest.raises(ValidationError) as excinfo:
            loans.add(make_loan())
        assert excinfo.value.rule == "unique"

    def test_unknown_loan_is_not_found(self, loans: LoanRepository) -> None:
        with pytest.raises(NotFound):
            loans.get("L-404")
        with pytest.raises(NotFound):
            loans.get_by_transaction("T-404")

    def test_repayments_and_reversals_are_kept_once_saved(self, loans: LoanRepository) -> None:
        loans.add(make_loan("L-0"))
        loans.add(make_loan())
        loan = loans.get("L-1")
        paid = loan.record_repayment(on=date(2026, 2, 5), amount="945.60", idempotency_key="K-1")
        loan.record_repayment(on=date(2026, 3, 5), amount="945.60")
        assert loans.get("L-1").active_repayments() == []
        loans.save(loan)
        assert loans.get("L-1").state() == loan.state()
        loan = loans.get_by_transaction(paid.transaction.transaction_id)
        assert loan.loan_id == "L-1"
        loan.reverse_repayment(transaction_id=paid.transaction.transaction_id, on=date(2026, 3, 6))
        loans.save(loan)
        stored = loans.get("L-1")
        assert stored.state() == loan.state()
        assert stored.record_repayment(on=date(2026, 2, 5), amount="945.60", idempotency_key="K-1").duplicate

    def test_close_of_business_state_is_kept(self, loans: LoanRepository) -> None:
        loans.add(make_loan())
        loan = loans.get("L-1")
        loan.close_business_day(as_of=date(2026, 2, 20))
        loans.save(loan)
        stored = loans.get("L-1")
        assert stored.state() == loan.state()
        assert stored.close_business_day(as_of=date(2026, 2, 20)) == ()

    def test_active_lists_only_active_loans_by_id(self, loans: LoanRepository) -> None:
        for loan_id in ("L-2", "L-1", "L-3"):
            loans.add(make_loan(loan_id))
        loan = loans.get("L-3")
        loan.write_off(on=date(2026, 6, 1))
        loans.save(loan)
        assert [loan.loan_id for loan in loans.active()] == ["L-1", "L-2"]
