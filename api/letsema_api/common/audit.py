"""Writing audit events. Call inside the transaction of the change it records, so both commit
or neither does."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from letsema_api.common.models import AuditEvent
from letsema_api.common.request_id import current_request_id


def record_audit(
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event stamped with now and the current request id."""
    request_id = current_request_id()
    event: AuditEvent = AuditEvent.objects.create(
        occurred_at=timezone.now(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id="" if request_id == "-" else request_id,
    )
    return event
