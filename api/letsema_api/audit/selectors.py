"""Reads of the append-only audit trail (``common.models.AuditEvent``), from the replica when healthy."""

from __future__ import annotations

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
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields: ClassVar[list[str]] = []


def audit_event_list() -> QuerySet[AuditEvent]:
    """Every event, newest first (ties by id, so pages are stable)."""
    return on_replica(AuditEvent.objects.order_by("-occurred_at", "-id"))
