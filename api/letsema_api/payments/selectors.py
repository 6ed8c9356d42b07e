"""Reads of the suspense queue (list with filters, one item)."""

from __future__ import annotations

from typing import ClassVar

import django_filters
from django.db.models import QuerySet

from letsema_api.payments import models
from letsema_api.vault import get_vault
from letsema_core.errors import NotFound


class SuspenseItemFilter(django_filters.FilterSet):  # type: ignore[misc]
    status = django_filters.ChoiceFilter(choices=models.STATUS_CHOICES)
    reason = django_filters.ChoiceFilter(choices=models.REASON_CHOICES)
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_to = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")
    receipt_number = django_filters.CharFilter(field_name="receipt__receipt_number")
    loan = django_filters.CharFilter(field_name="loan_id")

    class Meta:
        model = models.SuspenseItem
        fields: ClassVar[list[str]] = []


def suspense_list() -> QuerySet[models.SuspenseItem]:
    """Newest first."""
    return models.SuspenseItem.objects.select_related("receipt").order_by("-created_at", "-id")


def suspense_get(item_id: str) -> models.SuspenseItem:
    row: models.SuspenseItem | None = models.SuspenseItem.objects.select_related("receipt").filter(id=item_id).first()
    if row is None:
        raise NotFound(entity="suspense item", key=item_id)
    return row


def payer_phone(item: models.SuspenseItem) -> str:
    """The payer's MSISDN (decrypted by Transit): an officer refunding the money needs it."""
    phone: str = get_vault().decrypt_pii(item.receipt.phone_ciphertext)
    return phone
