"""``DjangoOutbox``: the core's ``Outbox`` port on PostgreSQL (call inside the business transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Max
from django.utils import timezone

from letsema_api.outbox.models import OutboxEvent, OutboxStatus
from letsema_core.credit import CreditAccountEvent


def event_row(event: CreditAccountEvent) -> OutboxEvent:
    return OutboxEvent(
        event_id=event.event_id,
        event_type=event.event_type.value,
        lender_mfi=event.lender_mfi,
        loan_ref=event.loan_ref,
        sequence=event.sequence,
        payload=event.to_dict(),
    )


class DjangoOutbox:
    """Append-only outbox. ``append`` of an ``event_id`` already there is a no-op (``ON CONFLICT DO
    NOTHING``, no savepoint needed); ``pending`` reads without locking — the relay locks its own batch
    (``relay.relay_pending``)."""

    def append(self, event: CreditAccountEvent) -> None:
        OutboxEvent.objects.bulk_create([event_row(event)], ignore_conflicts=True)

    def last_sequence(self, *, lender_mfi: str, loan_ref: str) -> int:
        result = OutboxEvent.objects.filter(lender_mfi=lender_mfi, loan_ref=loan_ref).aggregate(last=Max("sequence"))
        return int(result["last"] or 0)

    def pending(self, *, limit: int = 100) -> Sequence[CreditAccountEvent]:
        rows = OutboxEvent.objects.filter(status=OutboxStatus.PENDING).order_by("id")[:limit]
        return [CreditAccountEvent.from_dict(row.payload) for row in rows]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        OutboxEvent.objects.filter(event_id__in=list(event_ids), status=OutboxStatus.PENDING).update(
            status=OutboxStatus.PUBLISHED, published_at=timezone.now()
        )
