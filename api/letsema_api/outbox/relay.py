"""Publishing the outbox to the shared registry: in order, a locked batch at a time, never lost or doubled.

A batch is read with ``SELECT … FOR UPDATE SKIP LOCKED`` in append order, so two relays never publish the
same row at the same time; each event goes to the registry (``record_account_event`` is idempotent by
event id and sequence, so a row published again after a crash changes nothing there); the rows that made
it are marked published in the same transaction. When the registry fails, the failing row gets its
``attempts`` and ``last_error`` and stays pending with every row after it; the caller backs off. An
event the registry refuses (a ``DomainError``: retrying cannot help) keeps its reason in ``last_error``
and stays pending for an operator, and the rows after it are published.

A registry that takes a batch (``record_account_events``: ``MongoCreditRegistry``) gets the whole batch in
one call: one revision write per account instead of four round trips per event. When that call fails (an
outage), which event failed is unknown: the batch's first row gets the ``attempts`` and ``last_error`` and
every row stays pending. Part of the batch may have been written; the next pass sends it again and the
registry's merge finds those events already merged (idempotent by event id and sequence), so nothing is
applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pymongo.errors import OperationFailure, PyMongoError

from letsema_api.outbox.models import OutboxEvent, OutboxStatus
from letsema_api.registry import RegistryWriteConflict
from letsema_core.credit import CreditAccountEvent, CreditRegistry
from letsema_core.errors import DomainError

# What a registry outage looks like from here; anything else is a bug and propagates.
REGISTRY_ERRORS = (PyMongoError, RegistryWriteConflict)


@dataclass(frozen=True, slots=True)
class BatchResult:
    published: int
    error: str | None
    #: the registry refused the login (MongoDB code 18): a rotated password or an ended lease
    login_refused: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None


@runtime_checkable
class BatchRegistry(Protocol):
    """A registry that merges a batch of events in one call (``MongoCreditRegistry.record_account_events``)."""

    def record_account_events(self, events: Sequence[CreditAccountEvent]) -> list[DomainError | None]: ...


def pending_count() -> int:
    return int(OutboxEvent.objects.filter(status=OutboxStatus.PENDING).count())


def relay_batch(*, registry: CreditRegistry, batch_size: int = 100) -> BatchResult:
    """Publish up to ``batch_size`` pending events in append order; stop at the first registry error."""
    with transaction.atomic():
        rows = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxStatus.PENDING)
            .order_by("id")[:batch_size]
        )
        published: list[int] = []
        error: str | None = None
        login_refused = False
        if rows and isinstance(registry, BatchRegistry):
            try:
                _publish_batch(registry, rows, published)
            except REGISTRY_ERRORS as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                login_refused = isinstance(exc, OperationFailure) and exc.code == 18
                OutboxEvent.objects.filter(pk=rows[0].pk).update(attempts=F("attempts") + 1, last_error=error)
            rows = []  # published, refused or failed as a batch
        for row in rows:
            try:
                registry.record_account_event(CreditAccountEvent.from_dict(row.payload))
            except REGISTRY_ERRORS as exc:
                error = f"{type(exc).__name__}: {exc}"[:2000]
                login_refused = isinstance(exc, OperationFailure) and exc.code == 18
                OutboxEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=error)
                break
            except DomainError as exc:
                # The registry refused this event (e.g. the loan is filed under another borrower): retrying
                # will not help. It stays pending with the reason for an operator; the others go on.
                refused = f"{exc.code}: {exc.message}"[:2000]
                OutboxEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=refused)
                continue
            published.append(row.pk)
        if published:
            OutboxEvent.objects.filter(pk__in=published).update(
                status=OutboxStatus.PUBLISHED, published_at=timezone.now(), attempts=F("attempts") + 1, last_error=""
            )
    return BatchResult(published=len(published), error=error, login_refused=login_refused)


def _publish_batch(registry: BatchRegistry, rows: list[OutboxEvent], published: list[int]) -> None:
    """Send ``rows`` to ``registry`` in one call; record the refused rows (as ``relay_batch`` does) and add the
    others to ``published``. A registry error propagates with nothing recorded."""
    events: list[tuple[OutboxEvent, CreditAccountEvent]] = []
    refused: list[tuple[OutboxEvent, DomainError]] = []
    for row in rows:
        try:
            events.append((row, CreditAccountEvent.from_dict(row.payload)))
        except DomainError as unreadable:
            refused.append((row, unreadable))
    outcomes = registry.record_account_events([event for _, event in events])
    for (row, _), outcome in zip(events, outcomes, strict=True):
        if outcome is None:
            published.append(row.pk)
        else:
            refused.append((row, outcome))
    for row, refusal in refused:
        reason = f"{refusal.code}: {refusal.message}"[:2000]
        OutboxEvent.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1, last_error=reason)
