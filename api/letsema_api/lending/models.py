"""Applications, assessments, loans, installments, loan transactions and idempotency records.

Primary keys are the core's ids (text; a UUID for everything the API creates), as in ``borrowers``:
the ports take any string id and their contract suites use ids such as ``"L-1"``.

A loan is stored as what the core's ``Loan`` aggregate needs to be rebuilt without replaying anything:
the loan row (terms, status, arrears state, penalty charges), one row per installment (the schedule plus
what is still outstanding on it) and one row per ledger transaction (with its allocation). One query
reads all of it (``repositories.DjangoLoanRepository``: the child rows folded into JSON arrays).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from letsema_core.loans import ApplicationStatus, ArrearsBucket, LoanStatus, TransactionType

APPLICATION_STATUS_CHOICES = [(s.value, s.value) for s in ApplicationStatus]
LOAN_STATUS_CHOICES = [(s.value, s.value) for s in LoanStatus]
ARREARS_BUCKET_CHOICES = [(b.value, b.value) for b in ArrearsBucket]
TRANSACTION_KIND_CHOICES = [(k.value, k.value) for k in TransactionType]


def new_id() -> str:
    return str(uuid.uuid4())


def _money(**kwargs: Any) -> Any:
    return models.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class LoanApplication(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    borrower = models.ForeignKey("borrowers.Borrower", on_delete=models.PROTECT, related_name="loan_applications")
    product = models.ForeignKey("products.LoanProduct", on_delete=models.PROTECT, related_name="loan_applications")
    principal = _money()
    term_in_periods = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=APPLICATION_STATUS_CHOICES, db_index=True)
    created_by = models.CharField(max_length=150, db_index=True)
    created_on = models.DateField(db_index=True)
    submitted_by = models.CharField(max_length=150, null=True, blank=True)
    submitted_on = models.DateField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    rejection_reasons = models.JSONField(default=list)
    withdrawn_on = models.DateField(null=True, blank=True)
    # The loan that consumed the application; text, not a foreign key: the loan row is written first.
    loan_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # [[ISO date, status, user], ...] in order.
    history = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "id")
        # The application list's keyset pages (newest first), with and without ``?status=``.
        indexes = (
            models.Index(fields=("created_at", "id"), name="lending_application_list_idx"),
            models.Index(fields=("status", "created_at", "id"), name="lending_app_list_status_idx"),
        )

    def __str__(self) -> str:
        return f"Application {self.id} ({self.status})"


class CreditAssessment(models.Model):  # type: ignore[misc]
    """Every assessment recorded for an application (``assessment_to_dict`` JSON); the latest counts."""

    id = models.BigAutoField(primary_key=True)
    application = models.ForeignKey(LoanApplication, on_delete=models.PROTECT, related_name="assessments")
    data = models.JSONField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("application", "id")


class Loan(models.Model):  # type: ignore[misc]
    id = models.CharField(primary_key=True, max_length=64, default=new_id, editable=False)
    borrower = models.ForeignKey("borrowers.Borrower", on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey("products.LoanProduct", on_delete=models.PROTECT, related_name="loans")
    # The core's application id (``LoanApplication.loan_id`` points back); text for the same reason.
    application_ref = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    # The loan officer who made the application (filter ``officer``); empty when unknown.
    officer = models.CharField(max_length=150, blank=True, db_index=True)
    disbursed_on = models.DateField(db_index=True)
    principal = _money()
    upfront_fee = _money()
    late_penalty_percent = models.DecimalField(max_digits=12, decimal_places=6)
    penalty_grace_days = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=LOAN_STATUS_CHOICES, db_index=True)
    closed_on = models.DateField(null=True, blank=True)
    written_off_on = models.DateField(null=True, blank=True)
    days_past_due = models.PositiveIntegerField(default=0)
    worst_days_past_due = models.PositiveIntegerField(default=0)
    arrears_bucket = models.CharField(max_length=16, choices=ARREARS_BUCKET_CHOICES, db_index=True)
    last_close_of_business = models.DateField(null=True, blank=True)
    # Denormalised from the installments for lists, filters and portfolio reports.
    outstanding_principal = _money()
    # [[installment number, amount, ISO date charged], ...] in charge order.
    penalty_charges = models.JSONField(default=list)
    # Written with every change of the loan (``repositories.close_of_business_marks``) so close of business
    # tells from the loan row alone which loans a day changes only in DPD and arrears bucket: the due date of
    # the oldest installment with anything outstanding (null: none), the first date a late-payment penalty
    # can fall due on an installment not yet penalised (null: none can) and the latest transaction's date.
    oldest_unpaid_due_on = models.DateField(null=True, blank=True)
    next_penalty_on = models.DateField(null=True, blank=True)
    last_transaction_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("id",)
        indexes = (
            models.Index(fields=("status", "id")),
            # The loan list's keyset pages (newest disbursement first), with and without ``?status=``.
            models.Index(fields=("disbursed_on", "id"), name="lending_loan_list_idx"),
            models.Index(fields=("status", "disbursed_on", "id"), name="lending_loan_list_status_idx"),
        )

    def __str__(self) -> str:
        return f"Loan {self.id} ({self.status})"


class Installment(models.Model):  # type: ignore[misc]
    """One schedule row (``*_due``, never changed) and what is outstanding on it now (``*_outstanding``)."""

    id = models.BigAutoField(primary_key=True)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="installments")
    number = models.PositiveIntegerField()
    due_date = models.DateField()
    principal_due = _money()
    interest_due = _money()
    fees_due = _money()
    penalties_due = _money()
    total_due = _money()
    balance_after = _money()
    principal_outstanding = _money()
    interest_outstanding = _money()
    fees_outstanding = _money()
    penalties_outstanding = _money()

    class Meta:
        ordering = ("loan", "number")
        constraints = (models.UniqueConstraint(fields=("loan", "number"), name="lending_installment_unique_number"),)


class LoanTransaction(models.Model):  # type: ignore[misc]
    """One entry of a loan's ledger: disbursement, repayment, reversal or write-off.

    Amounts are never edited by people; a repayment's components are rewritten only when the core
    re-allocates it (a backdated payment, a reversal or a late close of business replayed it).
    """

    id = models.CharField(primary_key=True, max_length=100)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="transactions")
    sequence = models.PositiveIntegerField()
    kind = models.CharField(max_length=24, choices=TRANSACTION_KIND_CHOICES)
    on = models.DateField(db_index=True)
    amount = _money()
    principal = _money()
    interest = _money()
    fees = _money()
    penalties = _money()
    # ``RepaymentAllocation`` as JSON (money as strings); null for a disbursement or a write-off.
    allocation = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    external_ref = models.CharField(max_length=200, null=True, blank=True)
    reverses = models.CharField(max_length=100, null=True, blank=True)
    reversed_by = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("loan", "sequence")
        constraints = (
            models.UniqueConstraint(fields=("loan", "sequence"), name="lending_transaction_unique_sequence"),
            models.UniqueConstraint(
                fields=("loan", "idempotency_key"),
                condition=models.Q(idempotency_key__isnull=False),
                name="lending_transaction_unique_idempotency_key",
            ),
        )


class IdempotencyRecord(models.Model):  # type: ignore[misc]
    """The response to a request sent with an ``Idempotency-Key``: a repeat gets it back unchanged.

    ``fingerprint`` is a SHA-256 of the method, path and canonical body; the same key with another
    fingerprint is refused (409). Keys are per caller (``created_by``).
    """

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # A key is its caller's own (as with payment APIs): two callers never collide on one.
        constraints = (
            models.UniqueConstraint(
                fields=("scope", "created_by", "key"), name="lending_idempotency_unique_caller_key"
            ),
        )
