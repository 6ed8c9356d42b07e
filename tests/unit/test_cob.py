"""Close of business: DPD, buckets, penalties once per installment, idempotent per date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from letsema_core.loans import (
    ArrearsBucket,
    ArrearsChanged,
    Loan,
    LoanStatus,
    PenaltyCharged,
    run_close_of_business,
)
from letsema_core.loans.testing import level_schedule

pytestmark = pytest.mark.unit

DISBURSED = date(2026, 1, 1)
DUE1, DUE2, DUE3 = date(2026, 1, 31), date(2026, 3, 2), date(2026, 4, 1)


def make_loan(loan_id: str = "L1", percent: str = "5", grace: int = 3) -> Loan:
    schedule = level_schedule(first_due=DUE1, periods=3, principal_each="100.00", interest_each="10.00")
    return Loan(
        loan_id=loan_id,
        schedule=schedule,
        disbursed_on=DISBURSED,
        late_penalty_percent=percent,
        penalty_grace_days=grace,
    )


def days(n: int) -> date:
    return DUE1 + timedelta(days=n)


class TestPenaltyCharging:
    def test_no_penalty_within_the_grace_days(self) -> None:
        loan = make_loan()
        for n in range(4):
            result = run_close_of_business(loans=[loan], as_of=days(n))
            assert result.penalties_charged == ()
        assert loan.penalty_charges == []

    def test_charged_once_the_installment_is_more_than_grace_days_late(self) -> None:
        loan = make_loan()
        result = run_close_of_business(loans=[loan], as_of=days(4))
        assert result.penalties_charged == (PenaltyCharged("L1", 1, Decimal("5.50"), days(4)),)
        assert loan.balances[0].penalties == Decimal("5.50")

    def test_charged_only_once_per_installment(self) -> None:
        loan = make_loan()
        for n in range(4, 20):
            run_close_of_business(loans=[loan], as_of=days(n))
        assert [(c.installment_number, c.amount) for c in loan.penalty_charges] == [(1, Decimal("5.50"))]

    def test_each_late_installment_gets_its_own_penalty(self) -> None:
        loan = make_loan()
        result = run_close_of_business(loans=[loan], as_of=DUE2 + timedelta(days=4))
        assert [(e.installment_number, e.amount) for e in result.penalties_charged] == [
            (1, Decimal("5.50")),
            (2, Decimal("5.50")),
        ]

    def test_computed_on_the_outstanding_part_of_the_installment(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="60.00")  # 10 interest + 50 principal; 50.00 outstanding
        result = run_close_of_business(loans=[loan], as_of=days(4))
        assert result.penalties_charged[0].amount == Decimal("2.50")

    def test_a_paid_installment_is_not_penalised(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="110.00")
        assert run_close_of_business(loans=[loan], as_of=days(10)).penalties_charged == ()

    def test_no_penalty_when_the_product_has_none(self) -> None:
        loan = make_loan(percent="0")
        assert run_close_of_business(loans=[loan], as_of=days(40)).penalties_charged == ()

    def test_a_penalty_is_paid_first_by_a_later_repayment(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))
        txn = loan.record_repayment(on=days(5), amount="5.50").transaction
        assert (txn.penalties, txn.interest) == (Decimal("5.50"), Decimal("0.00"))

    def test_a_payment_dated_on_the_charge_day_is_not_used_for_that_penalty(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))
        txn = loan.record_repayment(on=days(4), amount="5.50").transaction
        assert (txn.penalties, txn.interest) == (Decimal("0.00"), Decimal("5.50"))

    def test_the_penalty_counts_in_the_payoff(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))
        assert loan.payoff_amount(on=days(5)) == Decimal("325.50")

    def test_the_payoff_on_the_charge_day_leaves_that_days_penalty_out(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))
        payoff = loan.payoff_amount(on=days(4))
        assert payoff == Decimal("320.00")
        loan.record_repayment(on=days(4), amount=payoff)
        assert loan.status is LoanStatus.CLOSED
        # The 5.50 charged for that day could not be in that day's payoff: it is waived with the closure.
        assert [b.total for b in loan.balances] == [Decimal("0.00")] * 3
        assert loan.penalty_charges[0].amount == Decimal("5.50")  # the charge itself stays on record

    def test_a_backdated_closing_payment_waives_a_penalty_charged_after_its_date(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))  # 5.50 on #1, charged before the payment was known
        loan.record_repayment(on=days(2), amount=loan.payoff_amount(on=days(2)))
        assert (loan.status, loan.closed_on) == (LoanStatus.CLOSED, days(2))
        assert [b.total for b in loan.balances] == [Decimal("0.00")] * 3

    def test_a_backdated_partial_payment_does_not_undo_a_penalty(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(4))  # 5.50 on #1
        loan.record_repayment(on=days(2), amount="110.00")  # pays #1 as of days(2)
        assert loan.balances[0].penalties == Decimal("5.50")
        assert loan.payoff_amount(on=days(5)) == Decimal("215.50")  # the penalty, #2 in full, #3's principal


class TestLateRun:
    def test_a_late_run_reallocates_later_payments_and_reports_it(self) -> None:
        loan = make_loan()
        later = loan.record_repayment(on=days(10), amount="20.00").transaction  # 10 interest + 10 principal
        # Penalty on what was outstanding on the run's date (110.00, the payment came later): 5.50.
        result = run_close_of_business(loans=[loan], as_of=days(4))
        [event] = result.reallocations
        assert event.reallocation.before == later
        assert (event.reallocation.after.penalties, event.reallocation.after.principal) == (
            Decimal("5.50"),
            Decimal("4.50"),
        )
        assert loan.transaction(later.transaction_id).penalties == Decimal("5.50")

    def test_a_late_run_ends_in_the_state_of_a_run_on_time(self) -> None:
        on_time, late = make_loan(), make_loan()
        first = run_close_of_business(loans=[on_time], as_of=days(4))
        on_time.record_repayment(on=days(10), amount="200.00")
        late.record_repayment(on=days(10), amount="200.00")  # clears #1: DPD 0 from days(10)
        second = run_close_of_business(loans=[late], as_of=days(4))
        assert second.penalties_charged == first.penalties_charged
        assert second.arrears_changes == first.arrears_changes  # 4 days past due on days(4)
        assert (late.days_past_due, late.arrears_bucket) == (4, ArrearsBucket.DAYS_1_30)
        assert late.state() == on_time.state()


class TestArrearsState:
    def test_dpd_and_bucket_are_updated_with_an_event_on_change(self) -> None:
        loan = make_loan(percent="0")
        first = run_close_of_business(loans=[loan], as_of=days(1))
        assert first.arrears_changes == (
            ArrearsChanged("L1", ArrearsBucket.CURRENT, ArrearsBucket.DAYS_1_30, 1, days(1)),
        )
        assert (loan.days_past_due, loan.arrears_bucket) == (1, ArrearsBucket.DAYS_1_30)
        assert run_close_of_business(loans=[loan], as_of=days(2)).events == ()
        assert loan.days_past_due == 2
        assert (
            run_close_of_business(loans=[loan], as_of=days(31)).arrears_changes[0].to_bucket is ArrearsBucket.DAYS_31_60
        )

    def test_closing_the_loan_clears_its_arrears_state(self) -> None:
        loan = make_loan(percent="0")
        run_close_of_business(loans=[loan], as_of=days(45))
        assert loan.arrears_bucket is ArrearsBucket.DAYS_31_60
        loan.record_repayment(on=days(46), amount=loan.payoff_amount(on=days(46)))
        assert (loan.status, loan.days_past_due, loan.arrears_bucket) == (LoanStatus.CLOSED, 0, ArrearsBucket.CURRENT)
        assert loan.worst_days_past_due == 45

    def test_a_repayment_brings_the_loan_back_to_current(self) -> None:
        loan = make_loan(percent="0")
        run_close_of_business(loans=[loan], as_of=days(5))
        loan.record_repayment(on=days(6), amount="110.00")
        result = run_close_of_business(loans=[loan], as_of=days(6))
        assert result.arrears_changes[0].to_bucket is ArrearsBucket.CURRENT
        assert loan.worst_days_past_due == 5


class TestIdempotency:
    def test_running_twice_for_the_same_date_changes_nothing_the_second_time(self) -> None:
        loan = make_loan()
        first = run_close_of_business(loans=[loan], as_of=days(40))
        state = loan.state()
        second = run_close_of_business(loans=[loan], as_of=days(40))
        assert first.events
        assert second.events == ()
        assert second.processed == ()
        assert second.skipped == ("L1",)
        assert loan.state() == state

    def test_an_earlier_date_after_a_later_one_is_skipped(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=days(40))
        state = loan.state()
        assert run_close_of_business(loans=[loan], as_of=days(10)).skipped == ("L1",)
        assert loan.close_business_day(as_of=days(10)) == ()
        assert loan.state() == state

    def test_a_restart_only_processes_loans_not_yet_done(self) -> None:
        done, pending = make_loan("A"), make_loan("B")
        run_close_of_business(loans=[done], as_of=days(5))
        result = run_close_of_business(loans=[done, pending], as_of=days(5))
        assert result.processed == ("B",)
        assert result.skipped == ("A",)
        assert done.state().penalty_charges == pending.state().penalty_charges

    def test_closed_and_written_off_loans_are_skipped(self) -> None:
        closed, written = make_loan("C"), make_loan("W")
        closed.record_repayment(on=DUE1, amount="320.00")
        written.write_off(on=DUE1)
        result = run_close_of_business(loans=[closed, written], as_of=days(60))
        assert result.skipped == ("C", "W")
        assert closed.close_business_day(as_of=days(60)) == ()
        assert (closed.status, written.status) == (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF)
