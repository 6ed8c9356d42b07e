"""The Loan aggregate: repayments, idempotency, payoff, reversal with replay, write-off, closure, statement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from letsema_core.errors import NotFound, ValidationError
from letsema_core.loans import (
    ArrearsBucket,
    IdempotencyKeyReused,
    IllegalLoanTransition,
    Loan,
    LoanStatus,
    OverpaymentRefused,
    RepaymentAlreadyReversed,
    TransactionType,
)
from letsema_core.loans.testing import level_schedule, schedule_from_rows
from letsema_core.schedules import LoanTerms, generate_schedule

pytestmark = pytest.mark.unit

Z = Decimal("0.00")
DISBURSED = date(2026, 1, 1)
# Three installments of 100.00 principal + 10.00 interest, due 31 Jan, 2 Mar, 1 Apr 2026.
DUE1, DUE2, DUE3 = date(2026, 1, 31), date(2026, 3, 2), date(2026, 4, 1)


def make_loan(**kwargs: object) -> Loan:
    schedule = level_schedule(
        first_due=DUE1, periods=3, principal_each="100.00", interest_each="10.00", upfront_fees="6.00"
    )
    return Loan(loan_id="L1", schedule=schedule, disbursed_on=DISBURSED, **kwargs)  # type: ignore[arg-type]


class TestOpening:
    def test_a_new_loan_is_active_current_and_owes_its_principal(self) -> None:
        loan = make_loan()
        assert loan.status is LoanStatus.ACTIVE
        assert loan.arrears_bucket is ArrearsBucket.CURRENT
        assert loan.outstanding_principal == Decimal("300.00")
        assert loan.net_disbursed == Decimal("294.00")
        assert loan.installment_amount == Decimal("110.00")
        [disbursement] = loan.transactions
        assert (disbursement.kind, disbursement.amount, disbursement.fees) == (
            TransactionType.DISBURSEMENT,
            Decimal("300.00"),
            Decimal("6.00"),
        )

    def test_a_schedule_whose_principal_does_not_reconcile_is_refused(self) -> None:
        schedule = level_schedule(first_due=DUE1, periods=2, principal_each="100.00", interest_each="1.00")
        broken = type(schedule)(installments=schedule.installments, principal=Decimal("300.00"), upfront_fees=Z)
        with pytest.raises(ValidationError) as info:
            Loan(loan_id="L", schedule=broken, disbursed_on=DISBURSED)
        assert info.value.rule == "principal_reconciles"

    def test_an_empty_schedule_is_refused(self) -> None:
        empty = schedule_from_rows(rows=[])
        with pytest.raises(ValidationError) as info:
            Loan(loan_id="L", schedule=empty, disbursed_on=DISBURSED)
        assert info.value.rule == "not_empty"

    def test_an_installment_due_on_the_disbursement_date_is_refused(self) -> None:
        schedule = level_schedule(first_due=DISBURSED, periods=1, principal_each="1.00", interest_each="0")
        with pytest.raises(ValidationError) as info:
            Loan(loan_id="L", schedule=schedule, disbursed_on=DISBURSED)
        assert info.value.rule == "before_first_due_date"

    @pytest.mark.parametrize(
        ("field", "kwargs"),
        [("late_penalty_percent", {"late_penalty_percent": "-1"}), ("penalty_grace_days", {"penalty_grace_days": -1})],
    )
    def test_negative_penalty_terms_are_refused(self, field: str, kwargs: dict[str, object]) -> None:
        with pytest.raises(ValidationError) as info:
            make_loan(**kwargs)
        assert info.value.field == field

    def test_a_generated_schedule_opens_a_loan_that_the_payoff_repays(self) -> None:
        terms = LoanTerms(
            principal="10000.00",
            annual_interest_rate_percent="24",
            term_in_periods=12,
            repayment_frequency="monthly",
            interest_method="declining_balance",
            amortization="equal_installments",
            disbursement_date=date(2026, 1, 15),
        )
        loan = Loan(loan_id="G", schedule=generate_schedule(terms), disbursed_on=date(2026, 1, 15))
        for inst in loan.schedule.installments:
            loan.record_repayment(on=inst.due_date, amount=inst.total_due)
        assert loan.status is LoanStatus.CLOSED
        assert loan.closed_on == date(2027, 1, 15)
        paid = [t for t in loan.transactions if t.kind is TransactionType.REPAYMENT]
        assert sum((t.interest for t in paid), Z) == Decimal("1347.15")
        assert sum((t.principal for t in paid), Z) == Decimal("10000.00")


class TestRecordRepayment:
    def test_an_on_time_payment_pays_the_due_installment(self) -> None:
        loan = make_loan()
        result = loan.record_repayment(on=DUE1, amount="110.00")
        assert (result.transaction.interest, result.transaction.principal) == (Decimal("10.00"), Decimal("100.00"))
        assert loan.balances[0].is_paid
        assert loan.outstanding_principal == Decimal("200.00")

    def test_paying_ahead_reduces_the_next_installments_principal_and_keeps_their_interest(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 1, 10), amount="160.00")
        # current #1 in full (110), then 50 to #2's principal; #2 still owes its 10.00 interest.
        assert loan.balances[1].principal == Decimal("50.00")
        assert loan.balances[1].interest == Decimal("10.00")
        assert loan.balances[2].principal == Decimal("100.00")

    def test_an_overpayment_is_refused_with_the_payoff_amount_and_changes_nothing(self) -> None:
        loan = make_loan()
        before = loan.state()
        with pytest.raises(OverpaymentRefused) as info:
            loan.record_repayment(on=date(2026, 1, 10), amount="310.01")
        assert info.value.details["payoff_amount"] == "310.00"
        assert info.value.code == "overpayment_refused"
        assert loan.state() == before
        assert len(loan.transactions) == 1

    def test_the_payoff_includes_the_current_periods_interest_but_not_later_interest(self) -> None:
        loan = make_loan()
        assert loan.payoff_amount(on=date(2026, 1, 10)) == Decimal("310.00")
        assert loan.payoff_amount(on=DUE1) == Decimal("320.00")
        assert loan.payoff_amount(on=date(2026, 5, 1)) == Decimal("330.00")

    def test_paying_the_payoff_closes_the_loan(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 2, 15), amount=loan.payoff_amount(on=date(2026, 2, 15)))
        assert loan.status is LoanStatus.CLOSED
        assert loan.closed_on == date(2026, 2, 15)
        assert loan.outstanding_principal == Z
        assert loan.payoff_amount(on=date(2026, 2, 16)) == Z

    def test_closing_waives_the_interest_not_yet_due_and_leaves_nothing_owed(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 2, 15), amount="320.00")  # #1 late, #2 current, #3's principal
        assert [b.total for b in loan.balances] == [Z, Z, Z]  # #3's 10.00 interest waived, not left behind
        assert loan.amount_overdue(as_of=date(2026, 6, 1)) == Z

    def test_closing_is_never_before_the_interest_already_due_is_paid(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 1, 10), amount="309.99")  # #1 in full, 199.99 of later principal
        assert loan.balances[2].principal == Decimal("0.01")
        # #2 falls due with its 10.00 interest; a cent pays that interest first, not the last cent of principal.
        loan.record_repayment(on=DUE2, amount="0.01")
        assert loan.status is LoanStatus.ACTIVE
        assert (loan.balances[1].interest, loan.balances[2].principal) == (Decimal("9.99"), Decimal("0.01"))
        assert loan.payoff_amount(on=DUE2) == Decimal("20.00")  # #2's 9.99 interest, #3 (current) in full

    def test_a_closed_loan_refuses_further_repayments(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 2, 15), amount="320.00")
        with pytest.raises(IllegalLoanTransition) as info:
            loan.record_repayment(on=date(2026, 2, 16), amount="1.00")
        assert info.value.details["from_state"] == "closed"

    def test_paying_every_installment_closes_on_the_last_payment(self) -> None:
        loan = make_loan()
        for due in (DUE1, DUE2):
            loan.record_repayment(on=due, amount="110.00")
        assert loan.status is LoanStatus.ACTIVE
        loan.record_repayment(on=DUE3, amount="110.00")
        assert loan.status is LoanStatus.CLOSED
        assert loan.closed_on == DUE3

    @pytest.mark.parametrize(("amount", "rule"), [("0", "positive"), ("-5.00", "positive"), ("1.001", "cents")])
    def test_amounts_must_be_positive_whole_cents(self, amount: str, rule: str) -> None:
        loan = make_loan()
        with pytest.raises(ValidationError) as info:
            loan.record_repayment(on=DUE1, amount=amount)
        assert info.value.rule == rule

    def test_a_float_amount_is_refused(self) -> None:
        loan = make_loan()
        with pytest.raises(ValidationError) as info:
            loan.record_repayment(on=DUE1, amount=1.5)  # type: ignore[arg-type]
        assert info.value.rule == "decimal"

    def test_a_payment_before_disbursement_is_refused(self) -> None:
        loan = make_loan()
        with pytest.raises(ValidationError) as info:
            loan.record_repayment(on=date(2025, 12, 31), amount="1.00")
        assert info.value.rule == "not_before_disbursement"


class TestIdempotency:
    def test_a_repeated_key_returns_the_original_and_moves_no_money(self) -> None:
        loan = make_loan()
        first = loan.record_repayment(on=DUE1, amount="50.00", idempotency_key="k1", external_ref="MP123")
        again = loan.record_repayment(on=DUE1, amount="50.00", idempotency_key="k1")
        assert again.duplicate is True
        assert again.transaction == first.transaction
        assert loan.outstanding_principal == Decimal("260.00")
        assert len(loan.transactions) == 2
        assert first.transaction.external_ref == "MP123"

    def test_a_repeated_key_is_answered_even_after_closure(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="320.00", idempotency_key="k1")
        assert loan.record_repayment(on=DUE1, amount="320.00", idempotency_key="k1").duplicate

    @pytest.mark.parametrize(("amount", "on"), [("51.00", DUE1), ("50.00", DUE2)])
    def test_a_key_reused_for_another_payment_is_refused(self, amount: str, on: date) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="50.00", idempotency_key="k1")
        with pytest.raises(IdempotencyKeyReused) as info:
            loan.record_repayment(on=on, amount=amount, idempotency_key="k1")
        assert info.value.details["transaction_id"] == "L1-2"


class TestBackdatingAndReversal:
    def test_a_backdated_payment_replays_later_payments_in_date_order(self) -> None:
        loan = make_loan()
        later = loan.record_repayment(on=DUE2, amount="110.00").transaction
        assert later.allocation is not None
        assert [entry.installment_number for entry in later.allocation.lines] == [1]
        result = loan.record_repayment(on=DUE1, amount="110.00")
        # The backdated payment now clears #1; the later one moves to #2.
        assert result.transaction.allocation is not None
        assert [entry.installment_number for entry in result.transaction.allocation.lines] == [1]
        moved = loan.transaction(later.transaction_id)
        assert moved.allocation is not None
        assert [entry.installment_number for entry in moved.allocation.lines] == [2]
        assert [r.after.transaction_id for r in result.reallocated] == [later.transaction_id]

    def test_same_day_payments_replay_in_sequence_order(self) -> None:
        loan = make_loan()
        first = loan.record_repayment(on=DUE1, amount="5.00").transaction
        second = loan.record_repayment(on=DUE1, amount="5.00").transaction
        loan.record_repayment(on=date(2026, 1, 5), amount="1.00")
        assert loan.transaction(first.transaction_id).interest == Decimal("5.00")
        assert loan.transaction(second.transaction_id).interest == Decimal("4.00")
        assert loan.transaction(second.transaction_id).principal == Decimal("1.00")

    def test_a_backdated_payment_that_would_overpay_a_later_one_is_refused(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE2, amount="320.00")
        loan.reverse_repayment(transaction_id="L1-2", on=DUE2)
        loan.record_repayment(on=DUE2, amount="300.00")
        before = loan.state()
        with pytest.raises(OverpaymentRefused) as info:
            loan.record_repayment(on=DUE1, amount="100.00")
        assert info.value.details["transaction_id"] == "L1-4"
        assert loan.state() == before

    def test_a_reversal_marks_the_original_adds_a_mirror_and_replays(self) -> None:
        loan = make_loan()
        first = loan.record_repayment(on=DUE1, amount="110.00").transaction
        later = loan.record_repayment(on=DUE2, amount="110.00").transaction
        result = loan.reverse_repayment(transaction_id=first.transaction_id, on=DUE2)
        reversal = result.transaction
        assert reversal.kind is TransactionType.REPAYMENT_REVERSAL
        assert (reversal.amount, reversal.principal, reversal.interest) == (
            Decimal("110.00"),
            Decimal("100.00"),
            Decimal("10.00"),
        )
        assert reversal.reverses == first.transaction_id
        original = loan.transaction(first.transaction_id)
        assert original.is_reversed
        assert original.amount == Decimal("110.00")  # never edited
        replayed = loan.transaction(later.transaction_id)
        assert replayed.allocation is not None
        assert [entry.installment_number for entry in replayed.allocation.lines] == [1]
        assert loan.balances[1].total == Decimal("110.00")

    def test_reversing_the_closing_payment_reopens_the_loan(self) -> None:
        loan = make_loan()
        closing = loan.record_repayment(on=DUE1, amount="320.00").transaction
        assert loan.status is LoanStatus.CLOSED
        loan.reverse_repayment(transaction_id=closing.transaction_id, on=DUE1)
        assert loan.status is LoanStatus.ACTIVE
        assert loan.closed_on is None
        assert loan.outstanding_principal == Decimal("300.00")
        assert [b.interest for b in loan.balances] == [Decimal("10.00")] * 3  # the waiver went with the payment

    def test_reversing_twice_is_refused(self) -> None:
        loan = make_loan()
        txn = loan.record_repayment(on=DUE1, amount="10.00").transaction
        loan.reverse_repayment(transaction_id=txn.transaction_id, on=DUE1)
        with pytest.raises(RepaymentAlreadyReversed):
            loan.reverse_repayment(transaction_id=txn.transaction_id, on=DUE1)

    def test_only_repayments_can_be_reversed(self) -> None:
        loan = make_loan()
        with pytest.raises(ValidationError) as info:
            loan.reverse_repayment(transaction_id="L1-1", on=DUE1)
        assert info.value.rule == "is_repayment"

    def test_an_unknown_transaction_is_not_found(self) -> None:
        with pytest.raises(NotFound):
            make_loan().reverse_repayment(transaction_id="nope", on=DUE1)

    def test_a_reversal_dated_before_its_repayment_is_refused(self) -> None:
        loan = make_loan()
        txn = loan.record_repayment(on=DUE1, amount="10.00").transaction
        with pytest.raises(ValidationError) as info:
            loan.reverse_repayment(transaction_id=txn.transaction_id, on=date(2026, 1, 30))
        assert info.value.rule == "not_before_original"


class TestWriteOff:
    def test_writes_off_the_outstanding_principal(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="110.00")
        txn = loan.write_off(on=date(2026, 9, 1))
        assert (txn.kind, txn.principal, txn.amount) == (
            TransactionType.WRITE_OFF,
            Decimal("200.00"),
            Decimal("200.00"),
        )
        assert loan.status is LoanStatus.WRITTEN_OFF
        assert loan.written_off_on == date(2026, 9, 1)
        assert loan.outstanding_principal == Z
        assert loan.payoff_amount(on=date(2026, 9, 2)) == Z
        assert loan.days_past_due_on(as_of=date(2026, 9, 2)) == 0

    def test_a_written_off_loan_takes_no_repayment_reversal_or_second_write_off(self) -> None:
        loan = make_loan()
        txn = loan.record_repayment(on=DUE1, amount="10.00").transaction
        loan.write_off(on=DUE2)
        with pytest.raises(IllegalLoanTransition):
            loan.record_repayment(on=DUE3, amount="1.00")
        with pytest.raises(IllegalLoanTransition):
            loan.reverse_repayment(transaction_id=txn.transaction_id, on=DUE3)
        with pytest.raises(IllegalLoanTransition):
            loan.write_off(on=DUE3)

    def test_a_closed_loan_cannot_be_written_off(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE1, amount="320.00")
        with pytest.raises(IllegalLoanTransition):
            loan.write_off(on=DUE2)

    def test_a_write_off_cannot_be_dated_before_the_last_transaction(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE2, amount="10.00")
        with pytest.raises(ValidationError) as info:
            loan.write_off(on=DUE1)
        assert info.value.rule == "not_before_last"


class TestStatement:
    def test_lists_every_transaction_in_date_order_with_the_running_principal(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE2, amount="110.00")
        r1 = loan.record_repayment(on=DUE1, amount="110.00").transaction
        loan.reverse_repayment(transaction_id=r1.transaction_id, on=DUE3)
        lines = loan.statement()
        assert [(line.on, line.kind, line.reversed, line.outstanding_principal) for line in lines] == [
            (DISBURSED, TransactionType.DISBURSEMENT, False, Decimal("300.00")),
            (DUE1, TransactionType.REPAYMENT, True, Decimal("200.00")),
            (DUE2, TransactionType.REPAYMENT, False, Decimal("100.00")),
            (DUE3, TransactionType.REPAYMENT_REVERSAL, False, Decimal("200.00")),
        ]
        assert lines[-1].outstanding_principal == loan.outstanding_principal

    def test_a_write_off_brings_the_running_principal_to_zero(self) -> None:
        loan = make_loan()
        loan.write_off(on=DUE2)
        assert loan.statement()[-1].outstanding_principal == Z


class TestReading:
    def test_amount_overdue_counts_installments_due_before_the_date(self) -> None:
        loan = make_loan()
        assert loan.amount_overdue(as_of=DUE1) == Z
        assert loan.amount_overdue(as_of=date(2026, 3, 3)) == Decimal("220.00")

    def test_days_past_due_on_a_date(self) -> None:
        loan = make_loan()
        assert loan.days_past_due_on(as_of=date(2026, 2, 10)) == 10

    def test_days_past_due_on_a_date_ignores_payments_dated_after_it(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=date(2026, 2, 20), amount="110.00")  # cures #1 on 20 Feb, not before
        assert loan.days_past_due_on(as_of=date(2026, 2, 10)) == 10
        assert loan.days_past_due_on(as_of=date(2026, 2, 20)) == 0
