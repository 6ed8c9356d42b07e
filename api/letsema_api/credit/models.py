"""Credit reports this MFI pulled, as returned: the tenant's own log of its registry inquiries.

The registry keeps the inquiry (MFI, user, purpose, time, consent reference) for the borrower's file;
this row keeps the report the officer saw, so a repeated request (same ``Idempotency-Key``) returns
the same report and an auditor can see what a decision was based on.
"""

from __future__ import annotations

from django.db import models


class CreditReportPull(models.Model):  # type: ignore[misc]
    inquiry_id = models.CharField(primary_key=True, max_length=64)
    borrower = models.ForeignKey("borrowers.Borrower", on_delete=models.PROTECT, related_name="credit_report_pulls")
    purpose = models.CharField(max_length=200)
    pulled_by = models.CharField(max_length=150)
    pulled_at = models.DateTimeField(db_index=True)
    consent_reference = models.CharField(max_length=200)
    report = models.JSONField()

    class Meta:
        ordering = ("-pulled_at", "inquiry_id")

    def __str__(self) -> str:
        return f"credit report {self.inquiry_id}"
