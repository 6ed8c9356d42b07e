"""``DjangoJournal``: the core's ``Journal`` port on PostgreSQL.

Call inside the transaction of the business change (the use case's caller opens it): the entry and its
lines commit with the loan change or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction

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


class DjangoJournal:
    """The MFI's general journal. ``post`` raises ``ValidationError`` (rule ``unique``) for an entry id
    already posted; ``entries`` returns every entry in posting order (tests and small tenants; the API
    pages through ``selectors.journal_entry_list`` instead)."""

    def post(self, entry: JournalEntry) -> None:
        try:
            # A savepoint, so a refused duplicate leaves the caller's transaction usable.
            with transaction.atomic():
                row = models.JournalEntry.objects.create(
                    entry_id=entry.entry_id,
                    on=entry.on,
                    description=entry.description,
                    loan_id=entry.loan_id,
                    transaction_id=entry.transaction_id,
                )
                models.JournalLine.objects.bulk_create(
                    models.JournalLine(
                        entry=row,
                        position=position,
                        account_code=line.account_code,
                        debit=line.debit,
                        credit=line.credit,
                    )
                    for position, line in enumerate(entry.lines, start=1)
                )
        except IntegrityError:
            if models.JournalEntry.objects.filter(entry_id=entry.entry_id).exists():
                raise ValidationError(
                    "a journal entry with this id exists", field="entry_id", rule="unique", entry_id=entry.entry_id
                ) from None
            raise

    def entries(self) -> Sequence[JournalEntry]:
        rows = models.JournalEntry.objects.order_by("id").prefetch_related("lines")
        return [entry_from_row(row, row.lines.all()) for row in rows]
