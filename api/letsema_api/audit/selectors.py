"""Reads of the append-only audit trail (``common.models.AuditEvent``), from the replica when healthy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

import django_filters
from django.db.models import QuerySet

from letsema_api.common.models import AuditEvent
from letsema_api.routers import on_replica


class AuditEventFilter(django_filters.FilterSet):  # type: ignore[misc]
    actor = django_filters.CharFilter(field_name="actor")
    action = django_filters.CharFilter(field_name="action")
    entity = django_filters.CharFilter(field_name="entity")
    entity_id = django_filters.CharFilter(field_name="entity_id")
    request_id = django_filters.CharFilter(field_name="request_id")
    occurred_after = django_filters.IsoDateTimeFilter(method="filter_occurred_after")
    occurred_before = django_filters.IsoDateTimeFilter(method="filter_occurred_before")

    class Meta:
        model = AuditEvent
        fields: ClassVar[list[str]] = []

    def filter_occurred_after(self, queryset: QuerySet[AuditEvent], name: str, value: datetime) -> QuerySet[AuditEvent]:
        return queryset.filter(occurred_at__gte=_utc(value))

    def filter_occurred_before(
        self, queryset: QuerySet[AuditEvent], name: str, value: datetime
    ) -> QuerySet[AuditEvent]:
        return queryset.filter(occurred_at__lt=_utc(value))


def _utc(value: datetime) -> datetime:
    """``value`` in UTC: PostgreSQL refuses offsets beyond ±15:59 that Python accepts (a 500 otherwise).
    An instant before year 1 or after 9999 in UTC becomes the first or last representable one."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return _EARLIEST if value.year == 1 else _LATEST


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


def audit_event_list() -> QuerySet[AuditEvent]:
    """Every event, newest first (ties by id, so pages are stable)."""
    return on_replica(AuditEvent.objects.order_by("-occurred_at", "-id"))
