"""Mobile-money receipts and the suspense queue.

Every callback that passed its signature check leaves one ``MobileMoneyReceipt`` (unique by the payment
system's receipt number): what arrived, what became of it (a repayment or a suspense item) and the exact
response given, which a repeated callback gets back. The payer's phone number is PII: only its Transit
ciphertext is stored.

A ``SuspenseItem`` is money received but not (yet) applied to a loan: booked Dr Cash / Cr Suspense when
the receipt arrived, and moved out of suspense when an officer resolves it (onto a loan, or refunded). A
partial resolution leaves the remainder as a new item (``parent`` points to the one it came from).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from django.db import models
from django.utils import timezone


def new_id() -> str:
    return str(uuid.uuid4())


def _money(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class ReceiptOutcome(StrEnum):
    APPLIED = "applied"
    SUSPENSE = "suspense"


class SuspenseReason(StrEnum):
    UNMATCHED = "unmatched"  # the account reference names no loan of this MFI
    EXCEEDS_PAYOFF = "exceeds_payoff"  # more than what repays the loan
    LOAN_NOT_ACTIVE = "loan_not_active"  # the loan is closed or written off


class SuspenseStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # applied to a loan
    REFUND_DUE = "refund_due"  # to be paid back to the payer
    REFUNDED = "refunded"


def _choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


OUTCOME_CHOICES = _choices(ReceiptOutcome)
REASON_CHOICES = _choices(SuspenseReason)
STATUS_CHOICES = _choices(SuspenseStatus)


class MobileMoneyReceipt(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    channel = models.CharField(max_length=16, default="mpesa")
    receipt_number = models.CharField(max_length=40)
    amount = _money()
    account_reference = models.CharField(max_length=64)
    phone_ciphertext = models.TextField()
    transaction_time = models.DateTimeField()
    # The business date of the payment (the tenant's date of ``transaction_time``).
    received_on = models.DateField(db_index=True)
    outcome = models.CharField(max_length=16, choices=OUTCOME_CHOICES)
    loan_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    transaction_id = models.CharField(max_length=100, null=True, blank=True)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "id")
        constraints = (
            models.UniqueConstraint(fields=("channel", "receipt_number"), name="payments_receipt_unique_number"),
        )

    def __str__(self) -> str:
        return f"{self.channel} {self.receipt_number} ({self.outcome})"


class SuspenseItem(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    receipt = models.ForeignKey(MobileMoneyReceipt, on_delete=models.PROTECT, related_name="suspense_items")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="remainders")
    amount = _money()
    reason = models.CharField(max_length=24, choices=REASON_CHOICES, db_index=True)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, db_index=True)
    received_on = models.DateField(db_index=True)
    # The loan the reference named (null when it named none) and its payoff when the money arrived.
    loan_id = models.CharField(max_length=64, null=True, blank=True)
    payoff_at_receipt = _money(null=True, blank=True)
    # How it was resolved.
    resolved_loan_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    resolved_transaction_id = models.CharField(max_length=100, null=True, blank=True)
    applied_amount = _money(null=True, blank=True)
    refund_reference = models.CharField(max_length=100, null=True, blank=True)
    resolved_by = models.CharField(max_length=150, null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The request that resolved it and the response given (a repeat gets the same response back).
    resolution_fingerprint = models.CharField(max_length=64, null=True, blank=True)
    resolution_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "id")
        indexes = (models.Index(fields=("status", "created_at")),)

    def __str__(self) -> str:
        return f"Suspense {self.id} {self.amount} ({self.status})"
