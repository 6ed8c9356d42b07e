"""The Django journal passes the core's contract suite; the SQL trial balance equals the core's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.accounting import CASH, INTEREST_INCOME, LOANS_RECEIVABLE, JournalEntry, JournalLine, trial_balance
from letsema_core.errors import ValidationError
from tests.contracts.journal import JournalContract, entry
from tests.integration.test_api_lending_support import empty, rolled_back

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["empty", "rolled_back"]


class TestDjangoJournal(JournalContract):
    @pytest.fixture
    def journal(self, empty: None) -> Any:
        from letsema_api.ledger.repositories import DjangoJournal

        return DjangoJournal()

    def test_a_refused_duplicate_leaves_the_transaction_usable(self, journal: Any) -> None:
        journal.post(entry("E-1"))
        with pytest.raises(ValidationError):
            journal.post(entry("E-1"))
        journal.post(entry("E-2"))
        assert [e.entry_id for e in journal.entries()] == ["E-1", "E-2"]


class TestTrialBalance:
    def test_sql_totals_equal_the_cores_trial_balance(self, rolled_back: None) -> None:
        from letsema_api.ledger.repositories import DjangoJournal
        from letsema_api.ledger.selectors import trial_balance as sql_trial_balance

        # The table may hold entries other tests committed: compare the difference this test makes.
        before = sql_trial_balance(as_of=date(2026, 3, 31))
        journal = DjangoJournal()
        split = JournalEntry(
            entry_id="E-split",
            on=date(2026, 3, 5),
            description="repayment",
            lines=(
                JournalLine(CASH, Decimal("945.60"), Decimal("0.00")),
                JournalLine(LOANS_RECEIVABLE, Decimal("0.00"), Decimal("745.60")),
                JournalLine(INTEREST_INCOME, Decimal("0.00"), Decimal("200.00")),
            ),
        )
        later = JournalEntry(
            entry_id="E-later",
            on=date(2026, 4, 1),
            description="repayment",
            lines=(
                JournalLine(CASH, Decimal("1.00"), Decimal("0.00")),
                JournalLine(LOANS_RECEIVABLE, Decimal("0.00"), Decimal("1.00")),
            ),
        )
        for e in (entry("E-1", "100.00"), split, later):
            journal.post(e)
        after = sql_trial_balance(as_of=date(2026, 3, 31))
        expected = trial_balance([entry("E-1", "100.00"), split, later], as_of=date(2026, 3, 31))
        assert after.is_balanced
        for row, base, want in zip(after.rows, before.rows, expected.rows, strict=True):
            assert row.account == want.account
            assert (row.debits - base.debits, row.credits - base.credits) == (want.debits, want.credits)
