"""Accounting: balanced journal entries per money movement and a trial balance that balances."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from letsema_core.accounting import (
    CASH,
    DEFAULT_CHART_OF_ACCOUNTS,
    FEE_INCOME,
    INTEREST_INCOME,
    LOANS_RECEIVABLE,
    PENALTY_INCOME,
    SUSPENSE,
    WRITE_OFF_EXPENSE,
    AccountType,
    JournalEntry,
    JournalLine,
    UnbalancedJournalEntry,
    disbursement_entry,
    entry_for_transaction,
    reallocation_entry,
    repayment_entry,
    reversal_entry,
    suspense_receipt_entry,
    trial_balance,
    write_off_entry,
)
from letsema_core.errors import ValidationError
from letsema_core.loans import Loan, Reallocation, run_close_of_business
from letsema_core.loans.testing import level_schedule
from letsema_core.testing import InMemoryJournal

pytestmark = pytest.mark.unit

Z = Decimal("0.00")
DISBURSED = date(2026, 1, 1)
DUE1, DUE2, DUE3 = date(2026, 1, 31), date(2026, 3, 2), date(2026, 4, 1)


def make_loan() -> Loan:
    schedule = level_schedule(
        first_due=DUE1, periods=3, principal_each="100.00", interest_each="10.00", fees_each="1.00", upfront_fees="6.00"
    )
    return Loan(
        loan_id="L1", schedule=schedule, disbursed_on=DISBURSED, late_penalty_percent="10", penalty_grace_days=0
    )


def sides(entry: JournalEntry) -> dict[str, tuple[Decimal, Decimal]]:
    return {line.account_code: (line.debit, line.credit) for line in entry.lines}


def d(value: str) -> Decimal:
    return Decimal(value)


class TestJournalEntry:
    def test_an_unbalanced_entry_cannot_be_built(self) -> None:
        with pytest.raises(UnbalancedJournalEntry) as info:
            JournalEntry(
                entry_id="x",
                on=DUE1,
                description="bad",
                lines=(JournalLine(CASH, d("10.00"), Z), JournalLine(FEE_INCOME, Z, d("9.99"))),
            )
        assert info.value.details == {"entry_id": "x", "debits": "10.00", "credits": "9.99"}

    def test_an_entry_needs_lines(self) -> None:
        with pytest.raises(UnbalancedJournalEntry):
            JournalEntry(entry_id="x", on=DUE1, description="empty", lines=())

    @pytest.mark.parametrize(
        ("debit", "credit", "rule"),
        [("1.00", "1.00", "one_side"), ("0", "0", "one_side"), ("-1.00", "0", "cents"), ("0.001", "0", "cents")],
    )
    def test_a_line_has_one_positive_side_in_cents(self, debit: str, credit: str, rule: str) -> None:
        with pytest.raises(ValidationError) as info:
            JournalLine(CASH, d(debit), d(credit))
        assert info.value.rule == rule

    def test_mirrored_swaps_every_side(self) -> None:
        entry = suspense_receipt_entry(entry_id="s1", on=DUE1, amount=d("50.00"))
        mirror = entry.mirrored(entry_id="s1-r", on=DUE2, description="undo", transaction_id=None)
        assert sides(mirror) == {CASH: (Z, d("50.00")), SUSPENSE: (d("50.00"), Z)}


class TestLoanEntries:
    def test_disbursement_books_principal_net_cash_and_the_upfront_fee(self) -> None:
        loan = make_loan()
        entry = disbursement_entry(loan_id="L1", transaction=loan.transactions[0])
        assert sides(entry) == {
            LOANS_RECEIVABLE: (d("300.00"), Z),
            CASH: (Z, d("294.00")),
            FEE_INCOME: (Z, d("6.00")),
        }

    def test_a_repayment_credits_each_component_including_penalties_when_paid(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=date(2026, 2, 1))  # 10% of 111.00 = 11.10 penalty
        txn = loan.record_repayment(on=date(2026, 2, 2), amount="130.00").transaction
        entry = repayment_entry(loan_id="L1", transaction=txn)
        assert sides(entry) == {
            CASH: (d("130.00"), Z),
            PENALTY_INCOME: (Z, d("11.10")),
            FEE_INCOME: (Z, d("2.00")),  # #1's fee, then the current #2's
            INTEREST_INCOME: (Z, d("16.90")),
            LOANS_RECEIVABLE: (Z, d("100.00")),
        }

    def test_a_reversal_posts_the_mirror_of_the_repayment(self) -> None:
        loan = make_loan()
        txn = loan.record_repayment(on=DUE1, amount="111.00").transaction
        original = repayment_entry(loan_id="L1", transaction=txn)
        reversal = loan.reverse_repayment(transaction_id=txn.transaction_id, on=DUE2).transaction
        mirror = reversal_entry(loan_id="L1", transaction=reversal)
        assert sides(mirror) == {code: (credit, debit) for code, (debit, credit) in sides(original).items()}

    def test_a_write_off_moves_principal_to_loan_losses(self) -> None:
        loan = make_loan()
        entry = write_off_entry(loan_id="L1", transaction=loan.write_off(on=DUE2))
        assert entry is not None
        assert sides(entry) == {WRITE_OFF_EXPENSE: (d("300.00"), Z), LOANS_RECEIVABLE: (Z, d("300.00"))}

    def test_a_zero_write_off_posts_nothing(self) -> None:
        txn = make_loan().write_off(on=DUE1)
        assert write_off_entry(loan_id="L1", transaction=replace(txn, principal=Z, amount=Z)) is None

    def test_a_reallocation_moves_money_between_components_without_touching_cash(self) -> None:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=date(2026, 2, 1))  # 11.10 penalty on #1
        later = loan.record_repayment(on=DUE2, amount="20.00").transaction  # pen 11.10, fee 1.00, int 7.90
        result = loan.record_repayment(on=date(2026, 1, 15), amount="15.00")  # fee, interest, 4.00 principal
        [realloc] = result.reallocated
        assert realloc.after.transaction_id == later.transaction_id
        entry = reallocation_entry(
            loan_id="L1", reallocation=realloc, on=DUE2, caused_by=result.transaction.transaction_id
        )
        assert entry is not None
        assert sides(entry) == {
            FEE_INCOME: (d("1.00"), Z),
            INTEREST_INCOME: (d("7.90"), Z),
            LOANS_RECEIVABLE: (Z, d("8.90")),
        }

    def test_a_backdated_payment_and_its_reversal_on_one_day_reallocate_under_distinct_ids(self) -> None:
        loan = make_loan()
        later = loan.record_repayment(on=DUE2, amount="50.00").transaction  # fee 1.00, interest 10.00, 39.00
        backdated = loan.record_repayment(on=DUE1, amount="50.00")  # takes #1's fee and interest
        reversal = loan.reverse_repayment(transaction_id=backdated.transaction.transaction_id, on=DUE1)
        [moved_by_payment] = backdated.reallocated
        [moved_by_reversal] = reversal.reallocated
        entries = [
            reallocation_entry(loan_id="L1", reallocation=change, on=DUE1, caused_by=cause.transaction_id)
            for change, cause in ((moved_by_payment, backdated.transaction), (moved_by_reversal, reversal.transaction))
        ]
        assert all(e is not None and e.transaction_id == later.transaction_id for e in entries)
        ids = [e.entry_id for e in entries if e is not None]
        assert ids == [
            f"{later.transaction_id}-realloc-{DUE1.isoformat()}-by-{backdated.transaction.transaction_id}",
            f"{later.transaction_id}-realloc-{DUE1.isoformat()}-by-{reversal.transaction.transaction_id}",
        ]
        by_payment, by_reversal = (sides(e) for e in entries if e is not None)
        assert by_payment == {
            FEE_INCOME: (d("1.00"), Z),
            INTEREST_INCOME: (d("10.00"), Z),
            LOANS_RECEIVABLE: (Z, d("11.00")),
        }
        # The reversal's entry undoes the payment's: the later repayment is back to its first split.
        assert by_reversal == {code: (credit, debit) for code, (debit, credit) in by_payment.items()}

    def test_the_same_cause_gives_the_same_id_so_a_retry_cannot_post_twice(self) -> None:
        loan = make_loan()
        loan.record_repayment(on=DUE2, amount="50.00")
        result = loan.record_repayment(on=DUE1, amount="50.00")
        [change] = result.reallocated
        first, again = (
            reallocation_entry(loan_id="L1", reallocation=change, on=DUE2, caused_by=result.transaction.transaction_id)
            for _ in range(2)
        )
        assert first is not None
        assert again is not None
        journal = InMemoryJournal()
        journal.post(first)
        with pytest.raises(ValidationError) as info:
            journal.post(again)
        assert info.value.rule == "unique"
        assert journal.entries() == [first]

    def test_an_unchanged_reallocation_posts_nothing(self) -> None:
        loan = make_loan()
        txn = loan.record_repayment(on=DUE1, amount="10.00").transaction
        assert reallocation_entry(loan_id="L1", reallocation=Reallocation(txn, txn), on=DUE1, caused_by="x") is None

    def test_each_builder_refuses_another_kind_of_transaction(self) -> None:
        loan = make_loan()
        with pytest.raises(ValidationError) as info:
            repayment_entry(loan_id="L1", transaction=loan.transactions[0])
        assert info.value.rule == "kind"


class TestTrialBalance:
    def book(self) -> tuple[Loan, list[JournalEntry]]:
        loan = make_loan()
        run_close_of_business(loans=[loan], as_of=date(2026, 2, 1))
        loan.record_repayment(on=date(2026, 2, 2), amount="130.00")
        r2 = loan.record_repayment(on=DUE2, amount="111.00").transaction
        loan.reverse_repayment(transaction_id=r2.transaction_id, on=DUE3)
        loan.write_off(on=DUE3)
        entries = [e for t in loan.transactions if (e := entry_for_transaction(loan_id="L1", transaction=t))]
        return loan, entries

    def test_always_balances_and_shows_each_accounts_position(self) -> None:
        _, entries = self.book()
        tb = trial_balance(entries, as_of=DUE3)
        assert tb.is_balanced
        assert tb.total_debits == tb.total_credits
        assert tb.row(LOANS_RECEIVABLE).balance == Z  # lent, partly repaid, rest written off
        assert tb.row(CASH).balance == d("-164.00")  # 294.00 out, 130.00 in (the 111.00 was reversed)
        assert tb.row(PENALTY_INCOME).balance == d("11.10")
        assert tb.row(FEE_INCOME).balance == d("8.00")  # 6.00 up front + 2.00 paid
        assert tb.row(WRITE_OFF_EXPENSE).balance == d("200.00")
        assert [r.account.code for r in tb.rows] == sorted(a.code for a in DEFAULT_CHART_OF_ACCOUNTS)

    def test_leaves_out_entries_after_the_date(self) -> None:
        _, entries = self.book()
        tb = trial_balance(entries, as_of=DISBURSED)
        assert tb.row(LOANS_RECEIVABLE).balance == d("300.00")
        assert tb.row(WRITE_OFF_EXPENSE).balance == Z

    def test_refuses_an_unknown_account(self) -> None:
        entry = JournalEntry(
            entry_id="x",
            on=DUE1,
            description="",
            lines=(JournalLine("9999", d("1.00"), Z), JournalLine(CASH, Z, d("1.00"))),
        )
        with pytest.raises(ValidationError) as info:
            trial_balance([entry], as_of=DUE1)
        assert info.value.rule == "unknown_account"

    def test_row_of_an_unknown_code_is_a_key_error(self) -> None:
        with pytest.raises(KeyError):
            trial_balance([], as_of=DUE1).row("9999")

    def test_normal_sides_follow_the_account_type(self) -> None:
        assert [t.value for t in AccountType if t.debit_normal] == ["asset", "expense"]
