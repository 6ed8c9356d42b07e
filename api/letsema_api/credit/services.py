"""Credit use cases for the API: the core's ``pull_credit_report``, ``borrower_credit_file`` and dispute use
cases over the Django repositories, Transit HMAC and ``MongoCreditRegistry``; each change audited."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from letsema_api.borrowers.services import borrower_repository, consent_repository, idempotent_id
from letsema_api.common.audit import record_audit
from letsema_api.credit import models
from letsema_api.credit.registry_client import current_tenant, get_registry, registry_calls
from letsema_core.borrowers import Consent, require_active_consent
from letsema_core.credit.registry import CreditDispute, CreditFile
from letsema_core.credit.serialization import dispute_to_dict, report_to_dict
from letsema_core.services.credit import (
    borrower_credit_file,
    open_credit_dispute,
    pull_credit_report,
    resolve_credit_dispute,
)


def registry_now() -> datetime:
    """Now, to the millisecond: the registry (BSON dates) keeps milliseconds, so a value read back
    equals the one written."""
    now: datetime = timezone.now()
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _hasher() -> Any:
    from letsema_api.vault import get_vault

    return get_vault().keyed_hasher()


def credit_file(*, borrower_id: str) -> CreditFile:
    """The borrower's whole registry file (not an inquiry). Raises ``NotFound``, ``RegistryUnavailable``."""
    with registry_calls():
        return borrower_credit_file(
            borrower_id=borrower_id,
            tenant=current_tenant(),
            borrowers=borrower_repository(),
            registry=get_registry(),
            hasher=_hasher(),
        )


class _ConsentsReadOnce:
    """The consent repository with each borrower's consents read once: the core requires an active consent
    and the log here names the same consent, from the same rows, without a second query."""

    def __init__(self) -> None:
        self._repository = consent_repository()
        self._read: dict[str, Sequence[Consent]] = {}

    def for_borrower(self, borrower_id: str) -> Sequence[Consent]:
        if borrower_id not in self._read:
            self._read[borrower_id] = self._repository.for_borrower(borrower_id)
        return self._read[borrower_id]

    def save(self, consent: Consent) -> None:
        self._read.pop(consent.borrower_id, None)
        self._repository.save(consent)

    def get(self, consent_id: str) -> Consent:
        return self._repository.get(consent_id)


# No savepoint: a failure anywhere fails the whole request, whose transaction then rolls back (outside a
# request, this is the outermost block), so a savepoint would only add two statements to every pull.
@transaction.atomic(savepoint=False)  # type: ignore[untyped-decorator]
def pull_report(
    *, borrower_id: str, purpose: str, actor: str, idempotency_key: str | None
) -> tuple[models.CreditReportPull, bool]:
    """Pull the borrower's cross-MFI report (core ``pull_credit_report``: consent required, the pull is
    recorded in the registry as an inquiry) and log it here. A repeat with the same ``Idempotency-Key``
    returns the report first pulled. Raises ``NotFound``, ``ValidationError``, ``ConsentRequired`` (422),
    ``RegistryUnavailable`` (503)."""
    inquiry_id = idempotent_id(scope=f"credit-report|{actor}|{borrower_id}", key=idempotency_key)
    if idempotency_key:
        # Without a key the id is new (``idempotent_id``): there is no earlier pull to look for.
        existing = models.CreditReportPull.objects.filter(pk=inquiry_id).first()
        if existing is not None:
            return existing, False
    at = registry_now()
    consents = _ConsentsReadOnce()
    with registry_calls():
        report = pull_credit_report(
            borrower_id=borrower_id,
            purpose=purpose,
            user=actor,
            at=at,
            inquiry_id=inquiry_id,
            tenant=current_tenant(),
            borrowers=borrower_repository(),
            consents=consents,
            registry=get_registry(),
            hasher=_hasher(),
        )
    # The consent the core required, found by the same rule at the same instant.
    consent = require_active_consent(consents=consents.for_borrower(borrower_id), borrower_id=borrower_id, at=at)
    row = models.CreditReportPull.objects.create(
        inquiry_id=inquiry_id,
        borrower_id=borrower_id,
        purpose=purpose.strip(),
        pulled_by=actor,
        pulled_at=at,
        consent_reference=consent.reference,
        report=report_to_dict(report),
    )
    record_audit(
        actor=actor,
        action="credit_report.pulled",
        entity="borrower",
        entity_id=borrower_id,
        after={
            "inquiry_id": inquiry_id,
            "purpose": row.purpose,
            "consent_reference": consent.reference,
            "flags": [flag["code"] for flag in row.report["flags"]],
        },
    )
    return row, True


@transaction.atomic  # type: ignore[untyped-decorator]
def open_dispute(
    *, borrower_id: str, lender_mfi: str, loan_ref: str, reason: str, actor: str, idempotency_key: str | None
) -> CreditDispute:
    """Record the borrower's dispute of one registry account. Raises ``NotFound`` (borrower or account),
    ``ValidationError``, ``RegistryUnavailable``. Idempotent by ``Idempotency-Key``."""
    dispute_id = idempotent_id(scope=f"credit-dispute|{actor}|{borrower_id}", key=idempotency_key)
    if idempotency_key:
        # A repeat answers with the dispute as first recorded, and records nothing.
        earlier = [d for d in credit_file(borrower_id=borrower_id).disputes if d.dispute_id == dispute_id]
        if earlier:
            return earlier[0]
    with registry_calls():
        dispute = open_credit_dispute(
            dispute_id=dispute_id,
            borrower_id=borrower_id,
            lender_mfi=lender_mfi,
            loan_ref=loan_ref,
            reason=reason,
            at=registry_now(),
            tenant=current_tenant(),
            borrowers=borrower_repository(),
            registry=get_registry(),
            hasher=_hasher(),
        )
    record_audit(
        actor=actor,
        action="credit_dispute.opened",
        entity="credit_dispute",
        entity_id=dispute_id,
        after={"borrower_id": borrower_id, **dispute_to_dict(dispute)},
    )
    return dispute


@transaction.atomic  # type: ignore[untyped-decorator]
def resolve_dispute(*, dispute_id: str, resolution: str, actor: str) -> CreditDispute:
    """Resolve a dispute of one of this MFI's accounts. Raises ``NotFound``, ``DisputeNotOwned`` (403),
    ``InvalidTransition`` (409), ``ValidationError``, ``RegistryUnavailable``."""
    with registry_calls():
        dispute = resolve_credit_dispute(
            dispute_id=dispute_id,
            resolution=resolution,
            at=registry_now(),
            tenant=current_tenant(),
            registry=get_registry(),
        )
    record_audit(
        actor=actor,
        action="credit_dispute.resolved",
        entity="credit_dispute",
        entity_id=dispute_id,
        after=dispute_to_dict(dispute),
    )
    return dispute
