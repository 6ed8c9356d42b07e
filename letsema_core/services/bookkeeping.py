"""Journal entries for the money a use case moved (cash basis, ``letsema_core.accounting``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from letsema_core.accounting import entry_for_transaction, reallocation_entry
from letsema_core.loans import LoanTransaction, Reallocation
from letsema_core.ports import Journal


def post_ledger_entries(
    *,
    loan_id: str,
    transaction: LoanTransaction,
    reallocated: Iterable[Reallocation] = (),
    on: date,
    journal: Journal,
) -> None:
    """Post the transaction's entry and one entry per repayment it re-allocated (see ``post_reallocations``)."""
    entry = entry_for_transaction(loan_id=loan_id, transaction=transaction)
    if entry is not None:
        journal.post(entry)
    post_reallocations(
        loan_id=loan_id, reallocated=reallocated, caused_by=transaction.transaction_id, on=on, journal=journal
    )


def post_reallocations(
    *, loan_id: str, reallocated: Iterable[Reallocation], caused_by: str, on: date, journal: Journal
) -> None:
    """Post the ``reallocation_entry`` of each re-allocated repayment whose split changed.

    An entry is dated ``on`` (the date of what caused it) or, when the repayment it adjusts is dated
    later (a backdated payment or a late close of business re-allocates payments made after it), on
    that repayment's date: the books never move a repayment's components before its cash came in.
    Raises ``ValidationError`` (rule ``unique``) from the journal if the same cause is posted twice.
    """
    for change in reallocated:
        moved = reallocation_entry(
            loan_id=loan_id, reallocation=change, on=max(on, change.after.on), caused_by=caused_by
        )
        if moved is not None:
            journal.post(moved)
