"""Hypothesis property: the books follow the loan — whatever happens to it, the trial balance
balances and Loans receivable equals the loan's outstanding principal."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsema_core.accounting import (
    CASH,
    LOANS_RECEIVABLE,
    JournalEntry,
    entry_for_transaction,
    reallocation_entry,
    trial_balance,
)
from letsema_core.loans import Loan, LoanStatus, OverpaymentRefused, RepaymentResult, run_close_of_business
from letsema_core.loans.testing import level_schedule

pytestmark = pytest.mark.unit

CENT = Decimal("0.01")
DISBURSED = date(2026, 1, 1)


def book(loan: Loan, result: RepaymentResult, on: date, entries: list[JournalEntry]) -> None:
    entry = entry_for_transaction(loan_id=loan.loan_id, transaction=result.transaction)
    assert entry is not None
    entries.append(entry)
    for change in result.reallocated:
        moved = reallocation_entry(
            loan_id=loan.loan_id, reallocation=change, on=on, caused_by=result.transaction.transaction_id
        )
        if moved is not None:
            entries.append(moved)


@settings(max_examples=150, deadline=None)
@given(
    periods=st.integers(1, 6),
    principal_cents=st.integers(1, 200_000),
    interest_cents=st.integers(0, 20_000),
    fee_cents=st.integers(0, 1_000),
    ops=st.lists(
        st.tuples(
            st.sampled_from(["pay", "pay", "cob", "reverse", "write_off"]), st.integers(0, 250), st.integers(1, 1000)
        ),
        max_size=10,
    ),
)
def test_books_balance_and_receivable_equals_outstanding_principal(
    periods: int, principal_cents: int, interest_cents: int, fee_cents: int, ops: list[tuple[str, int, int]]
) -> None:
    schedule = level_schedule(
        first_due=DISBURSED + timedelta(days=30),
        periods=periods,
        principal_each=Decimal(principal_cents) * CENT,
        interest_each=Decimal(interest_cents) * CENT,
        fees_each=Decimal(fee_cents) * CENT,
        upfront_fees=Decimal(fee_cents) * CENT,
    )
    loan = Loan(loan_id="P", schedule=schedule, disbursed_on=DISBURSED, late_penalty_percent="5", penalty_grace_days=2)
    entries: list[JournalEntry] = []
    first = entry_for_transaction(loan_id="P", transaction=loan.transactions[0])
    assert first is not None
    entries.append(first)
    cash_in = Decimal("0.00")
    for kind, offset, share in ops:
        on = DISBURSED + timedelta(days=offset)
        if loan.status is LoanStatus.WRITTEN_OFF:
            break
        if kind == "pay" and loan.status is LoanStatus.ACTIVE:
            payoff = loan.payoff_amount(on=on)
            amount = max(CENT, (payoff * share / 1000).quantize(CENT))
            with contextlib.suppress(OverpaymentRefused):
                result = loan.record_repayment(on=on, amount=amount)
                book(loan, result, on, entries)
                cash_in += amount
        elif kind == "cob":
            for event in run_close_of_business(loans=[loan], as_of=on).reallocations:
                moved = reallocation_entry(
                    loan_id="P", reallocation=event.reallocation, on=on, caused_by=event.caused_by
                )
                if moved is not None:
                    entries.append(moved)
        elif kind == "reverse" and loan.active_repayments():
            target = loan.active_repayments()[share % len(loan.active_repayments())]
            when = max(on, target.on)
            book(loan, loan.reverse_repayment(transaction_id=target.transaction_id, on=when), when, entries)
            cash_in -= target.amount
        elif kind == "write_off" and loan.status is LoanStatus.ACTIVE:
            when = max([on, *(t.on for t in loan.transactions)])
            entry = entry_for_transaction(loan_id="P", transaction=loan.write_off(on=when))
            if entry is not None:
                entries.append(entry)
    tb = trial_balance(entries, as_of=date(2030, 1, 1))
    assert tb.is_balanced
    assert tb.row(LOANS_RECEIVABLE).balance == loan.outstanding_principal
    assert tb.row(CASH).balance == cash_in - loan.net_disbursed
