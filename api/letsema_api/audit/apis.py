"""``/api/v1/audit-events/``: the audit trail, read-only (GET; any other method is a 405).

Visible to the roles holding the ``audit`` action (mfi_admin and auditor). The events are written only
by ``common.audit.record_audit`` inside the transaction of the change they record, and the database
refuses UPDATE, DELETE and TRUNCATE on the table (the trigger of ``common`` migration 0001).
"""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from letsema_api.accounts.permissions import Action
from letsema_api.audit import selectors
from letsema_api.common.pagination import cursor_paginated as paginated_schema
from letsema_api.lending.apis import filter_parameters, paginated
from letsema_api.reporting.apis import ReadOnlyApi
from letsema_api.routers import with_replica_fallback


def _parameters() -> list[OpenApiParameter]:
    """The filters (an empty one is a 400, so text filters have ``minLength: 1``), cursor and page size."""
    times = {"occurred_after": "inclusive", "occurred_before": "exclusive"}
    params: list[OpenApiParameter] = []
    for p in filter_parameters(selectors.AuditEventFilter):
        if p.name in times:
            params.append(
                OpenApiParameter(p.name, OpenApiTypes.DATETIME, description=f"ISO 8601 date-time, {times[p.name]}")
            )
        elif p.name in selectors.AuditEventFilter.base_filters:
            # Not empty (a 400) and no NUL character (PostgreSQL text cannot hold one; a 400 too).
            text = {"type": "string", "minLength": 1, "pattern": "^[^\\u0000]+$"}
            params.append(OpenApiParameter(p.name, text, description="exact match"))
        else:
            params.append(p)
    return params


class AuditEventListApi(ReadOnlyApi):
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.AUDIT}

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        id = serializers.IntegerField()
        occurred_at = serializers.DateTimeField()
        actor = serializers.CharField()
        action = serializers.CharField()
        entity = serializers.CharField()
        entity_id = serializers.CharField()
        before = serializers.JSONField(allow_null=True)
        after = serializers.JSONField(allow_null=True)
        request_id = serializers.CharField()

    @extend_schema(
        responses=paginated_schema(OutputSerializer, name="PaginatedAuditEventList"),
        parameters=_parameters(),
        operation_id="audit_events",
        description="The append-only audit trail, newest first: who did what, when, before/after, request id.",
    )
    def get(self, request: Request) -> Response:
        return with_replica_fallback(
            lambda: paginated(
                self, request, selectors.audit_event_list(), selectors.AuditEventFilter, self.OutputSerializer
            )
        )
