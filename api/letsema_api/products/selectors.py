"""Read-only queries behind the loan product endpoints."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from letsema_api.borrowers.selectors import apply_filter
from letsema_api.products import models


class LoanProductFilter(django_filters.FilterSet):  # type: ignore[misc]
    """``?is_active=``, ``?repayment_frequency=``, ``?interest_method=``, ``?code=``."""

    is_active = django_filters.BooleanFilter()
    repayment_frequency = django_filters.ChoiceFilter(choices=models.FREQUENCY_CHOICES)
    interest_method = django_filters.ChoiceFilter(choices=models.INTEREST_METHOD_CHOICES)
    code = django_filters.CharFilter()

    class Meta:
        model = models.LoanProduct
        fields = ("is_active", "repayment_frequency", "interest_method", "code")


def product_list(*, filters: Any) -> QuerySet[models.LoanProduct]:
    return apply_filter(LoanProductFilter(data=filters, queryset=models.LoanProduct.objects.order_by("code")))


def product_row(*, product_id: str) -> models.LoanProduct | None:
    row: models.LoanProduct | None = models.LoanProduct.objects.filter(pk=product_id).first()
    return row
