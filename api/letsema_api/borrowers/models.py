"""The MFI's borrowers, their identity documents, consents and identity checks.

PII is never stored in plain text: each identifier is kept as Transit ciphertext plus a Transit
HMAC of its normalised ``lookup_input`` (``"LS:NID:<12 digits>"``), which is what duplicates are
found by (unique on ``(type, lookup_key)``; each tenant has its own database, so that is unique per
tenant). The phone number is Transit ciphertext too. Names and the date of birth stay readable:
the duplicate-person rule and the name search need them.

Primary keys are the core's ids (text, a UUID for everything the API creates): the ports take any
string id, and their contract suites use ids such as ``"B-1"``.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from letsema_core.borrowers import ConsentMethod, ConsentPurpose, District, Gender
from letsema_core.identity import IdentifierType

DISTRICT_CHOICES = [(d.value, d.value) for d in District]
GENDER_CHOICES = [(g.value, g.value) for g in Gender]
IDENTIFIER_TYPE_CHOICES = [(t.value, t.value) for t in IdentifierType]
CONSENT_PURPOSE_CHOICES = [(p.value, p.value) for p in ConsentPurpose]
CONSENT_METHOD_CHOICES = [(m.value, m.value) for m in ConsentMethod]


def new_id() -> str:
    return str(uuid.uuid4())


class Borrower(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    # normalise_name(first, last): what the likely-duplicate rule and the name search compare.
    normalised_name = models.CharField(max_length=201, db_index=True)
    date_of_birth = models.DateField()
    district = models.CharField(max_length=32, choices=DISTRICT_CHOICES, db_index=True)
    gender = models.CharField(max_length=16, choices=GENDER_CHOICES, null=True, blank=True)
    phone_ciphertext = models.TextField()
    monthly_income = models.DecimalField(max_digits=14, decimal_places=2)
    created_by = models.CharField(max_length=150)
    created_on = models.DateField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "id")
        indexes = (
            models.Index(fields=("normalised_name", "date_of_birth")),
            # The borrower list's keyset pages (newest first).
            models.Index(fields=("created_at", "id"), name="borrowers_borrower_list_idx"),
        )

    def __str__(self) -> str:
        return f"Borrower {self.id}"


class BorrowerIdentifier(models.Model):  # type: ignore[misc]
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="identifier_rows")
    type = models.CharField(max_length=32, choices=IDENTIFIER_TYPE_CHOICES)
    ciphertext = models.TextField()
    # Transit HMAC of Identifier.lookup_input: finds a holder without decrypting anything.
    lookup_key = models.CharField(max_length=255)
    # All but the last 4 characters hidden (Identifier.masked), for lists and screens.
    masked = models.CharField(max_length=16)
    # Order the borrower gave them in; the core's Borrower keeps a tuple.
    position = models.PositiveSmallIntegerField()
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("borrower", "position")
        constraints = (
            models.UniqueConstraint(fields=("type", "lookup_key"), name="borrower_identifier_unique_lookup"),
            models.UniqueConstraint(fields=("borrower", "position"), name="borrower_identifier_unique_position"),
        )

    def __str__(self) -> str:
        return f"{self.type} {self.masked}"


class DuplicateSuspicion(models.Model):  # type: ignore[misc]
    """A likely duplicate person flagged at registration, for an officer to review."""

    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    matching_borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    reason = models.CharField(max_length=64)
    detected_on = models.DateField()

    class Meta:
        ordering = ("detected_on", "id")
        constraints = (
            models.UniqueConstraint(
                fields=("borrower", "matching_borrower", "reason"), name="duplicate_suspicion_unique"
            ),
        )


class Consent(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(max_length=32, choices=CONSENT_PURPOSE_CHOICES)
    method = models.CharField(max_length=32, choices=CONSENT_METHOD_CHOICES)
    granted_at = models.DateTimeField()
    recorded_by = models.CharField(max_length=150)
    reference = models.CharField(max_length=200)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("granted_at", "id")


class IdentityVerification(models.Model):  # type: ignore[misc]
    """One identity check of a borrower (format, duplicate and fraud checks) and its outcome."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="verifications")
    result = models.CharField(max_length=32)  # "verified" or "needs_review"
    checks = models.JSONField()
    verified_by = models.CharField(max_length=150)
    verified_at = models.DateTimeField()

    class Meta:
        ordering = ("-verified_at", "id")
