"""Journal entries for the money a use case moved (cash basis, ``letsema_core.accounting``)."""

from __future__ import annotations

import dataclasses
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
    """Post the transaction's entry and one entry per repayment it re-allocated.

    A re-allocation entry's id is suffixed with the causing transaction's id: two re-allocations of
    the same repayment on the same day (a backdated payment and a reversal) must not collide.
    """
    entry = entry_for_transaction(loan_id=loan_id, transaction=transaction)
    if entry is not None:
        journal.post(entry)
    for change in reallocated:
        moved = reallocation_entry(loan_id=loan_id, reallocation=change, on=on)
        if moved is not None:
            journal.post(dataclasses.replace(moved, entry_id=f"{moved.entry_id}-by-{transaction.transaction_id}"))
