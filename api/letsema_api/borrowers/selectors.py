"""Read-only queries behind the borrower endpoints (lists read the replica when it is healthy)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ErrorDetail
from rest_framework.exceptions import ValidationError as DrfValidationError

from letsema_api.borrowers import models
from letsema_core.borrowers import normalise_name
from letsema_core.errors import ValidationError


class BorrowerFilter(django_filters.FilterSet):  # type: ignore[misc]
    """``?district=``, ``?search=`` (any part of the name, accents and case ignored),
    ``?created_from=`` / ``?created_to=`` (registration dates, inclusive, ISO 8601)."""

    district = django_filters.ChoiceFilter(choices=models.DISTRICT_CHOICES)
    search = django_filters.CharFilter(method="filter_search", max_length=201)
    created_from = django_filters.DateFilter(field_name="created_on", lookup_expr="gte")
    created_to = django_filters.DateFilter(field_name="created_on", lookup_expr="lte")

    class Meta:
        model = models.Borrower
        fields = ("district", "search", "created_from", "created_to")

    def filter_search(self, queryset: QuerySet[models.Borrower], name: str, value: str) -> QuerySet[models.Borrower]:
        condition = Q()
        for word in normalise_name(value).split():
            condition &= Q(normalised_name__contains=word)
        return queryset.filter(condition)


def apply_filter(
    filterset: django_filters.FilterSet, *, paging: frozenset[str] = frozenset({"page", "page_size"})
) -> QuerySet[Any]:
    """The filtered queryset, or a 400 naming the bad parameter (an unknown one included: a typo must
    never pass for "no filter", as on the other lists). ``paging``: the pagination's own parameters."""
    unknown = sorted(set(filterset.data) - set(filterset.base_filters) - paging)
    if unknown:
        raise ValidationError(f"unknown query parameter {unknown[0]!r}", field=unknown[0], rule="unknown_field")
    if not filterset.is_valid():
        raise DrfValidationError(
            {
                field: [ErrorDetail(error["message"], code=error["code"] or "invalid") for error in errors]
                for field, errors in filterset.errors.get_json_data().items()
            }
        )
    return filterset.qs


def borrower_list(*, filters: Any) -> QuerySet[models.Borrower]:
    queryset = models.Borrower.objects.prefetch_related("identifier_rows").order_by("-created_at", "-id")
    return apply_filter(BorrowerFilter(data=filters, queryset=queryset), paging=frozenset({"cursor", "page_size"}))


def identifiers_of(*, borrower_id: str) -> QuerySet[models.BorrowerIdentifier]:
    return models.BorrowerIdentifier.objects.filter(borrower_id=borrower_id).order_by("position")


def consents_of(*, borrower_id: str) -> QuerySet[models.Consent]:
    return models.Consent.objects.filter(borrower_id=borrower_id).order_by("granted_at", "id")


def verifications_of(*, borrower_id: str) -> QuerySet[models.IdentityVerification]:
    return models.IdentityVerification.objects.filter(borrower_id=borrower_id).order_by("-verified_at", "id")


def borrower_exists(*, borrower_id: str) -> bool:
    exists: bool = models.Borrower.objects.filter(pk=borrower_id).exists()
    return exists
