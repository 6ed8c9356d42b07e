"""Contract of the ``Journal`` port. Provide ``journal`` returning an empty journal."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from letsema_core.accounting import CASH, LOANS_RECEIVABLE, JournalEntry, JournalLine
from letsema_core.errors import ValidationError
from letsema_core.ports import Journal
from tests.contracts import FloatTrapped


def entry(entry_id: str, amount: str = "100.00") -> JournalEntry:
    value = Decimal(amount)
    return JournalEntry(
        entry_id=entry_id,
        on=date(2026, 2, 5),
        description="repayment",
        lines=(JournalLine(CASH, value, Decimal("0.00")), JournalLine(LOANS_RECEIVABLE, Decimal("0.00"), value)),
        loan_id="L-1",
        transaction_id=entry_id,
    )


class JournalContract(FloatTrapped):
    @pytest.fixture
    def journal(self) -> Journal:
        raise NotImplementedError

    def test_implements_the_port(self, journal: Journal) -> None:
        assert isinstance(journal, Journal)

    def test_entries_come_back_intact_in_posting_order(self, journal: Journal) -> None:
        journal.post(entry("E-2", "945.60"))
        journal.post(entry("E-1", "0.01"))
        assert list(journal.entries()) == [entry("E-2", "945.60"), entry("E-1", "0.01")]

    def test_an_entry_id_is_posted_once(self, journal: Journal) -> None:
        journal.post(entry("E-1"))
        with pytest.raises(ValidationError) as excinfo:
            journal.post(entry("E-1", "5.00"))
        assert excinfo.value.rule == "unique"
        assert list(journal.entries()) == [entry("E-1")]
