"""The append-only audit trail: who did what, when, before/after, under which request id.

The table refuses UPDATE and DELETE (a trigger, see migration 0001), so history cannot be
edited through the application's database role.
"""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):  # type: ignore[misc]
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    entity = models.CharField(max_length=64)
    entity_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ("-occurred_at", "-id")
        indexes = (models.Index(fields=("entity", "entity_id")),)

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%dT%H:%M:%S} {self.actor} {self.action} {self.entity}:{self.entity_id}"
