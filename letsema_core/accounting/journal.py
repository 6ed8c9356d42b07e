"""Double-entry journal entries for every money movement of a loan.

A ``JournalEntry`` is balanced by construction: its constructor refuses lines
whose debits and credits differ (``UnbalancedJournalEntry``). Builders:

- disbursement: Dr Loans receivable (principal); Cr Cash (net disbursed);
  Cr Fee income (up-front fee withheld);
- repayment: Dr Cash (amount); Cr Loans receivable (principal part), Interest,
  Fee and Penalty income (their parts) — cash basis, penalties are income when paid;
- repayment reversal: the mirror of the repayment (every line's sides swapped);
- reallocation (a backdated payment or a reversal moved money between
  components of a later repayment): the component differences, cash untouched;
- write-off: Dr Loan losses; Cr Loans receivable (principal written off);
- unmatched mobile-money receipt: Dr Cash; Cr Suspense.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letsema_core.accounting.chart import (
    CASH,
    FEE_INCOME,
    INTEREST_INCOME,
    LOANS_RECEIVABLE,
    PENALTY_INCOME,
    SUSPENSE,
    WRITE_OFF_EXPENSE,
)
from letsema_core.errors import DomainError, ValidationError
from letsema_core.loans.loan import LoanTransaction, Reallocation, TransactionType
from letsema_core.money import CENT

_ZERO = Decimal("0.00")


class UnbalancedJournalEntry(DomainError):
    """An entry's debits and credits differ (a programming error; never persisted)."""

    code = "unbalanced_journal_entry"
    http_status = 500


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One side of an entry: exactly one of ``debit``/``credit`` is positive, in whole cents."""

    account_code: str
    debit: Decimal
    credit: Decimal

    def __post_init__(self) -> None:
        for name, value in (("debit", self.debit), ("credit", self.credit)):
            if value < 0 or value != value.quantize(CENT):
                raise ValidationError(f"{name} must be a non-negative amount in cents", field=name, rule="cents")
        if bool(self.debit) == bool(self.credit):
            raise ValidationError("a journal line has exactly one of debit or credit", field="debit", rule="one_side")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced set of lines posted on one date, with a reference to what caused it."""

    entry_id: str
    on: date
    description: str
    lines: tuple[JournalLine, ...]
    loan_id: str | None = None
    transaction_id: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise UnbalancedJournalEntry("a journal entry needs lines", details={"entry_id": self.entry_id})
        if self.total_debit != self.total_credit:
            raise UnbalancedJournalEntry(
                f"debits {self.total_debit} differ from credits {self.total_credit}",
                details={
                    "entry_id": self.entry_id,
                    "debits": str(self.total_debit),
                    "credits": str(self.total_credit),
                },
            )

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), _ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), _ZERO)

    def mirrored(self, *, entry_id: str, on: date, description: str, transaction_id: str | None) -> JournalEntry:
        """The reversing entry: every line with its debit and credit swapped."""
        return JournalEntry(
            entry_id=entry_id,
            on=on,
            description=description,
            lines=tuple(JournalLine(line.account_code, line.credit, line.debit) for line in self.lines),
            loan_id=self.loan_id,
            transaction_id=transaction_id,
        )


def _lines(debits: Iterable[tuple[str, Decimal]], credits: Iterable[tuple[str, Decimal]]) -> tuple[JournalLine, ...]:
    """Lines for the non-zero amounts; a negative amount moves to the other side."""
    out: list[JournalLine] = []
    signed = [*debits, *((code, -amount) for code, amount in credits)]
    for code, amount in signed:
        if amount > 0:
            out.append(JournalLine(code, amount, _ZERO))
        elif amount < 0:
            out.append(JournalLine(code, _ZERO, -amount))
    return tuple(out)


def _component_credits(txn: LoanTransaction) -> list[tuple[str, Decimal]]:
    return [
        (LOANS_RECEIVABLE, txn.principal),
        (INTEREST_INCOME, txn.interest),
        (FEE_INCOME, txn.fees),
        (PENALTY_INCOME, txn.penalties),
    ]


def disbursement_entry(*, loan_id: str, transaction: LoanTransaction) -> JournalEntry:
    """Dr Loans receivable principal; Cr Cash net disbursed, Cr Fee income up-front fee."""
    _require_kind(transaction, TransactionType.DISBURSEMENT)
    return JournalEntry(
        entry_id=transaction.transaction_id,
        on=transaction.on,
        description="loan disbursement",
        lines=_lines(
            [(LOANS_RECEIVABLE, transaction.principal)],
            [(CASH, transaction.principal - transaction.fees), (FEE_INCOME, transaction.fees)],
        ),
        loan_id=loan_id,
        transaction_id=transaction.transaction_id,
    )


def repayment_entry(*, loan_id: str, transaction: LoanTransaction) -> JournalEntry:
    """Dr Cash amount; Cr each component's account (principal, interest, fees, penalties).

    Uses the transaction's allocation as it stands; a reversed repayment still
    yields its original entry (the reversal posts the mirror).
    """
    _require_kind(transaction, TransactionType.REPAYMENT)
    return JournalEntry(
        entry_id=transaction.transaction_id,
        on=transaction.on,
        description="repayment",
        lines=_lines([(CASH, transaction.amount)], _component_credits(transaction)),
        loan_id=loan_id,
        transaction_id=transaction.transaction_id,
    )


def reversal_entry(*, loan_id: str, transaction: LoanTransaction) -> JournalEntry:
    """The mirror of the reversed repayment: Dr each component; Cr Cash."""
    _require_kind(transaction, TransactionType.REPAYMENT_REVERSAL)
    return JournalEntry(
        entry_id=transaction.transaction_id,
        on=transaction.on,
        description=f"reversal of repayment {transaction.reverses}",
        lines=_lines(_component_credits(transaction), [(CASH, transaction.amount)]),
        loan_id=loan_id,
        transaction_id=transaction.transaction_id,
    )


def write_off_entry(*, loan_id: str, transaction: LoanTransaction) -> JournalEntry | None:
    """Dr Loan losses; Cr Loans receivable, for the principal written off (None when it is zero)."""
    _require_kind(transaction, TransactionType.WRITE_OFF)
    if not transaction.principal:
        return None
    return JournalEntry(
        entry_id=transaction.transaction_id,
        on=transaction.on,
        description="write-off",
        lines=_lines([(WRITE_OFF_EXPENSE, transaction.principal)], [(LOANS_RECEIVABLE, transaction.principal)]),
        loan_id=loan_id,
        transaction_id=transaction.transaction_id,
    )


def reallocation_entry(*, loan_id: str, reallocation: Reallocation, on: date, caused_by: str) -> JournalEntry | None:
    """The component differences of a re-allocated repayment, posted on ``on`` (None if none).

    The cash of the repayment is unchanged; money moves between principal and
    the income accounts: a component that got more is credited the difference,
    one that got less is debited. ``caused_by`` names what re-allocated it (the
    backdated payment's or the reversal's transaction id, or the close of
    business run) and is part of the entry id: one repayment can be
    re-allocated by several causes on the same day (a backdated payment, then
    the reversal of it), and each needs its own entry. The same cause gives
    the same id, so a retried posting is refused by the journal, not doubled.
    """
    before, after = reallocation.before, reallocation.after
    deltas = [
        (LOANS_RECEIVABLE, after.principal - before.principal),
        (INTEREST_INCOME, after.interest - before.interest),
        (FEE_INCOME, after.fees - before.fees),
        (PENALTY_INCOME, after.penalties - before.penalties),
    ]
    lines = _lines([], deltas)
    if not lines:
        return None
    return JournalEntry(
        entry_id=f"{after.transaction_id}-realloc-{on.isoformat()}-by-{caused_by}",
        on=on,
        description=f"re-allocation of repayment {after.transaction_id}",
        lines=lines,
        loan_id=loan_id,
        transaction_id=after.transaction_id,
    )


def suspense_receipt_entry(*, entry_id: str, on: date, amount: Decimal) -> JournalEntry:
    """Dr Cash; Cr Suspense: a mobile-money receipt that matched no loan or exceeded its payoff."""
    return JournalEntry(
        entry_id=entry_id, on=on, description="unmatched receipt", lines=_lines([(CASH, amount)], [(SUSPENSE, amount)])
    )


def entry_for_transaction(*, loan_id: str, transaction: LoanTransaction) -> JournalEntry | None:
    """The entry a ledger transaction posts, by kind (None for a zero write-off)."""
    if transaction.kind is TransactionType.DISBURSEMENT:
        return disbursement_entry(loan_id=loan_id, transaction=transaction)
    if transaction.kind is TransactionType.REPAYMENT:
        return repayment_entry(loan_id=loan_id, transaction=transaction)
    if transaction.kind is TransactionType.REPAYMENT_REVERSAL:
        return reversal_entry(loan_id=loan_id, transaction=transaction)
    return write_off_entry(loan_id=loan_id, transaction=transaction)


def _require_kind(transaction: LoanTransaction, kind: TransactionType) -> None:
    if transaction.kind is not kind:
        raise ValidationError(
            f"expected a {kind.value} transaction, got {transaction.kind.value}",
            field="transaction",
            rule="kind",
            kind=transaction.kind.value,
        )
