"""Outbox rows: one per registry event, committed with the business change that caused it.

The integer primary key gives the append order the relay publishes in; ``event_id`` (the core's UUID5
of lender, loan and sequence) is unique, so appending an event twice keeps one row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxStatus(models.TextChoices):  # type: ignore[misc]
    PENDING = "pending"
    PUBLISHED = "published"


class OutboxEvent(models.Model):  # type: ignore[misc]
    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=32)
    lender_mfi = models.CharField(max_length=64)
    loan_ref = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField()
    # ``CreditAccountEvent.to_dict()``: money as strings, dates ISO 8601, schema_version.
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        constraints = (
            models.UniqueConstraint(fields=("lender_mfi", "loan_ref", "sequence"), name="outbox_unique_loan_sequence"),
        )
        indexes = (models.Index(fields=("id",), condition=models.Q(status="pending"), name="outbox_pending_idx"),)

    def __str__(self) -> str:
        return f"{self.event_type} {self.lender_mfi}/{self.loan_ref}#{self.sequence} ({self.status})"
