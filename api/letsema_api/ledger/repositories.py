"""``DjangoJournal``: the core's ``Journal`` port on PostgreSQL.

Call inside the transaction of the business change (the use case's caller opens it): the entry and its
lines commit with the loan change or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.utils import timezone

from letsema_api.ledger import models
from letsema_core.accounting import JournalEntry, JournalLine
from letsema_core.errors import ValidationError


def entry_from_row(row: models.JournalEntry, lines: Iterable[models.JournalLine]) -> JournalEntry:
    return JournalEntry(
        entry_id=row.entry_id,
        on=row.on,
        description=row.description,
        lines=tuple(JournalLine(line.account_code, line.debit, line.credit) for line in lines),
        loan_id=row.loan_id,
        transaction_id=row.transaction_id,
    )


_INSERT_ENTRY_SQL = """
INSERT INTO ledger_journalentry (entry_id, "on", description, loan_id, transaction_id, posted_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (entry_id) DO NOTHING
RETURNING id
"""


class DjangoJournal:
    """The MFI's general journal. ``post`` raises ``ValidationError`` (rule ``unique``) for an entry id
    already posted; ``entries`` returns every entry in posting order (tests and small tenants; the API
    pages through ``selectors.journal_entry_list`` instead)."""

    def post(self, entry: JournalEntry) -> None:
        # A duplicate entry id inserts nothing (``ON CONFLICT DO NOTHING``) and is refused before any line is
        # written: the caller's transaction stays usable without a savepoint. Entry and lines are all or
        # nothing (outside a transaction this opens one; inside, an error marks the caller's for rollback).
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                cursor.execute(
                    _INSERT_ENTRY_SQL,
                    [entry.entry_id, entry.on, entry.description, entry.loan_id, entry.transaction_id, timezone.now()],
                )
                inserted = cursor.fetchone()
            if inserted is not None:
                models.JournalLine.objects.bulk_create(
                    models.JournalLine(
                        entry_id=inserted[0],
                        position=position,
                        account_code=line.account_code,
                        debit=line.debit,
                        credit=line.credit,
                    )
                    for position, line in enumerate(entry.lines, start=1)
                )
        if inserted is None:
            # Raised outside the atomic block, which would otherwise mark the caller's transaction for rollback.
            raise ValidationError(
                "a journal entry with this id exists", field="entry_id", rule="unique", entry_id=entry.entry_id
            )

    def entries(self) -> Sequence[JournalEntry]:
        rows = models.JournalEntry.objects.order_by("id").prefetch_related("lines")
        return [entry_from_row(row, row.lines.all()) for row in rows]
