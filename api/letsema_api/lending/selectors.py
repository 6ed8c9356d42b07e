"""Read-only queries for the lending endpoints (lists, details, schedules, statements, payoff)."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

import django_filters
from django.db.models import QuerySet

from letsema_api.lending import models
from letsema_api.lending.repositories import DjangoApplicationRepository, DjangoLoanRepository
from letsema_core.credit import CreditAssessment
from letsema_core.errors import NotFound
from letsema_core.loans import StatementLine


class ApplicationFilter(django_filters.FilterSet):  # type: ignore[misc]
    status = django_filters.ChoiceFilter(choices=models.APPLICATION_STATUS_CHOICES)
    borrower = django_filters.CharFilter(field_name="borrower_id")
    product = django_filters.CharFilter(field_name="product_id")
    created_by = django_filters.CharFilter()
    created_from = django_filters.DateFilter(field_name="created_on", lookup_expr="gte")
    created_to = django_filters.DateFilter(field_name="created_on", lookup_expr="lte")

    class Meta:
        model = models.LoanApplication
        fields: ClassVar[list[str]] = []


class LoanFilter(django_filters.FilterSet):  # type: ignore[misc]
    status = django_filters.ChoiceFilter(choices=models.LOAN_STATUS_CHOICES)
    arrears_bucket = django_filters.ChoiceFilter(choices=models.ARREARS_BUCKET_CHOICES)
    officer = django_filters.CharFilter()
    borrower = django_filters.CharFilter(field_name="borrower_id")
    product = django_filters.CharFilter(field_name="product_id")
    disbursed_from = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="gte")
    disbursed_to = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="lte")

    class Meta:
        model = models.Loan
        fields: ClassVar[list[str]] = []


def application_list() -> QuerySet[models.LoanApplication]:
    return models.LoanApplication.objects.order_by("-created_at", "-id")


def application_get(application_id: str) -> models.LoanApplication:
    row: models.LoanApplication | None = models.LoanApplication.objects.filter(id=application_id).first()
    if row is None:
        raise NotFound(entity="loan application", key=application_id)
    return row


def latest_assessment(application_id: str) -> CreditAssessment | None:
    return DjangoApplicationRepository().latest_assessment(application_id)


def loan_list() -> QuerySet[models.Loan]:
    return models.Loan.objects.order_by("-disbursed_on", "-id")


def loan_get(loan_id: str) -> models.Loan:
    row: models.Loan | None = models.Loan.objects.filter(id=loan_id).first()
    if row is None:
        raise NotFound(entity="loan", key=loan_id)
    return row


def loan_schedule(loan_id: str) -> list[models.Installment]:
    """The loan's installments (due and outstanding) in order. Raises ``NotFound``."""
    rows = list(models.Installment.objects.filter(loan_id=loan_id).order_by("number"))
    if not rows:
        loan_get(loan_id)
    return rows


def loan_statement(loan_id: str) -> tuple[StatementLine, ...]:
    """Every ledger transaction with the outstanding principal after it (the core's statement)."""
    return DjangoLoanRepository().get(loan_id).statement()


def loan_payoff(loan_id: str, *, as_of: date) -> tuple[str, date]:
    """What repays the loan by a payment dated ``as_of`` (the core's payoff; 0 unless active)."""
    amount = DjangoLoanRepository().get(loan_id).payoff_amount(on=as_of)
    return f"{amount:.2f}", as_of


def repayment_get(transaction_id: str) -> models.LoanTransaction:
    row: models.LoanTransaction | None = models.LoanTransaction.objects.filter(id=transaction_id).first()
    if row is None:
        raise NotFound(entity="loan transaction", key=transaction_id)
    return row
