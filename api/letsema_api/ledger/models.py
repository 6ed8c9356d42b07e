"""Journal entries and their lines. Append-only: an entry is never updated or deleted.

The primary key is an increasing integer because posting order is part of the ``Journal`` port's
contract; the public id is ``entry_id`` (built by the core from what caused the entry, so a retried
posting hits the unique index instead of doubling the books).
"""

from __future__ import annotations

from django.db import models


class JournalEntry(models.Model):  # type: ignore[misc]
    id = models.BigAutoField(primary_key=True)
    entry_id = models.CharField(max_length=200, unique=True)
    on = models.DateField(db_index=True)
    description = models.CharField(max_length=200)
    # The core's loan id (a UUID string for API loans); not a foreign key: the ledger also holds
    # entries that belong to no loan (suspense receipts).
    loan_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    transaction_id = models.CharField(max_length=200, null=True, blank=True)
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)

    def __str__(self) -> str:
        return f"{self.entry_id} {self.on:%Y-%m-%d}"


class JournalLine(models.Model):  # type: ignore[misc]
    id = models.BigAutoField(primary_key=True)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    account_code = models.CharField(max_length=16, db_index=True)
    debit = models.DecimalField(max_digits=14, decimal_places=2)
    credit = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ("entry_id", "position")
        constraints = (
            models.UniqueConstraint(fields=("entry", "position"), name="ledger_line_position_unique"),
            models.CheckConstraint(
                condition=(models.Q(debit__gt=0, credit=0) | models.Q(debit=0, credit__gt=0)),
                name="ledger_line_one_side",
            ),
        )

    def __str__(self) -> str:
        return f"{self.account_code} Dr {self.debit} Cr {self.credit}"
