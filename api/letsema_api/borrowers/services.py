"""Borrower use cases for the API: the core's onboarding use cases over the Django repositories, each
change audited in the same transaction. No business rule is decided here; the core decides.

Audit snapshots never carry PII in plain text: identifiers appear masked, the phone not at all.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from letsema_api.borrowers import models
from letsema_api.borrowers.repositories import DjangoBorrowerRepository, DjangoConsentRepository
from letsema_api.borrowers.verification import VerificationOutcome, verify_identity
from letsema_api.common.audit import record_audit
from letsema_core.borrowers import Borrower, Consent, District, check_duplicates
from letsema_core.errors import NotFound, ValidationError
from letsema_core.identity import Identifier, PhoneNumber
from letsema_core.services.onboarding import Registration, record_consent, register_borrower, revoke_consent

# Ids derived from a client's Idempotency-Key: the same key for the same target gives the same id.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6c1b7d0e-4a55-4f0b-9a51-7f4f8e2b1c11")


def idempotent_id(*, scope: str, key: str | None) -> str:
    """A new UUID, or (with an ``Idempotency-Key``) the same UUID for the same scope and key. Callers put
    the acting user (or client) in the scope: a key is the caller's own, as with payment APIs."""
    if not key:
        return str(uuid.uuid4())
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{scope}|{key}"))


def borrower_repository() -> DjangoBorrowerRepository:
    from letsema_api.vault import get_vault

    vault = get_vault()
    return DjangoBorrowerRepository(cipher=vault, hasher=vault.keyed_hasher())


def consent_repository() -> DjangoConsentRepository:
    return DjangoConsentRepository()


def borrower_snapshot(borrower: Borrower) -> dict[str, Any]:
    return {
        "first_name": borrower.first_name,
        "last_name": borrower.last_name,
        "date_of_birth": borrower.date_of_birth.isoformat(),
        "district": borrower.district.value,
        "gender": borrower.gender.value if borrower.gender else None,
        "monthly_income": f"{borrower.monthly_income:.2f}",
        "identifiers": [{"type": i.type.value, "masked": i.masked} for i in borrower.identifiers],
    }


def consent_snapshot(consent: Consent) -> dict[str, Any]:
    return {
        "borrower_id": consent.borrower_id,
        "purpose": consent.purpose.value,
        "method": consent.method.value,
        "granted_at": consent.granted_at.isoformat(),
        "reference": consent.reference,
        "expires_at": consent.expires_at.isoformat() if consent.expires_at else None,
        "revoked_at": consent.revoked_at.isoformat() if consent.revoked_at else None,
    }


@transaction.atomic  # type: ignore[untyped-decorator]
def register(
    *,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    district: str,
    phone: str,
    monthly_income: Decimal,
    identifiers: Sequence[Mapping[str, str]],
    gender: str | None,
    actor: str,
    on: date,
    idempotency_key: str | None = None,
) -> tuple[Registration, bool]:
    """Register a borrower (core ``register_borrower``); returns the registration and whether it is new.
    A repeat with the same ``Idempotency-Key`` returns the borrower first registered. Raises
    ``ValidationError`` and ``DuplicateIdentifier`` (409); likely duplicates are recorded, not refused."""
    borrower_id = idempotent_id(scope=f"borrower|{actor}", key=idempotency_key)
    repository = borrower_repository()
    if models.Borrower.objects.filter(pk=borrower_id).exists():
        return Registration(borrower=repository.get(borrower_id), suspicions=()), False
    registration = register_borrower(
        borrower_id=borrower_id,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        district=district,
        phone=phone,
        monthly_income=monthly_income,
        identifiers=identifiers,
        gender=gender,
        created_by=actor,
        on=on,
        borrowers=repository,
    )
    after = borrower_snapshot(registration.borrower)
    after["duplicate_suspicions"] = [s.matching_borrower_id for s in registration.suspicions]
    record_audit(
        actor=actor, action="borrower.registered", entity="borrower", entity_id=registration.borrower.id, after=after
    )
    return registration, True


@transaction.atomic  # type: ignore[untyped-decorator]
def update_contact(*, borrower_id: str, phone: str | None, district: str | None, actor: str) -> Borrower:
    """Change the borrower's phone and/or district (validated by the core's value types)."""
    repository = borrower_repository()
    before = repository.get(borrower_id)
    new_phone = PhoneNumber.parse(phone) if phone is not None else None
    new_district = None
    if district is not None:
        # new_borrower's rule for districts, applied to the changed value only.
        new_district = _district(district)
    repository.update_contact(borrower_id, phone=new_phone, district=new_district)
    after = repository.get(borrower_id)
    changed = {"phone_changed": new_phone is not None and new_phone != before.phone}
    record_audit(
        actor=actor,
        action="borrower.contact_updated",
        entity="borrower",
        entity_id=borrower_id,
        before={"district": before.district.value},
        after={"district": after.district.value, **changed},
    )
    return after


def _district(value: str) -> District:
    try:
        return District(value)
    except ValueError:
        raise ValidationError(
            f"unknown district {value!r}", field="district", rule="choice", allowed=[d.value for d in District]
        ) from None


@transaction.atomic  # type: ignore[untyped-decorator]
def add_identifier(*, borrower_id: str, type: str, value: str, actor: str, on: date) -> bool:
    """Add an identity document to a borrower; returns False when the borrower already held it (a
    retried request: nothing changes). Raises ``NotFound``, ``ValidationError`` (format) and
    ``DuplicateIdentifier`` (409, the core's ``check_duplicates`` rule or the unique index)."""
    repository = borrower_repository()
    borrower = repository.get(borrower_id)
    identifier = Identifier.parse(type=type, value=value, field="value")
    if identifier in borrower.identifiers:
        return False
    candidate = dataclasses.replace(borrower, identifiers=(*borrower.identifiers, identifier))
    holder = repository.find_by_identifier(identifier)
    check_duplicates(
        candidate=candidate, holders_of_identifiers=[holder] if holder else [], same_name_and_birth_date=[], on=on
    )
    repository.add_identifier(borrower_id, identifier)
    record_audit(
        actor=actor,
        action="borrower.identifier_added",
        entity="borrower",
        entity_id=borrower_id,
        after={"type": identifier.type.value, "masked": identifier.masked},
    )
    return True


@transaction.atomic  # type: ignore[untyped-decorator]
def grant_consent(
    *,
    borrower_id: str,
    purpose: str,
    method: str,
    granted_at: datetime,
    reference: str,
    expires_at: datetime | None,
    actor: str,
    idempotency_key: str | None,
) -> tuple[Consent, bool]:
    """Record a consent (core ``record_consent``); returns it and whether it is new. A repeat with the
    same ``Idempotency-Key`` returns the consent first recorded. Raises ``NotFound``, ``ValidationError``."""
    consent_id = idempotent_id(scope=f"consent|{actor}|{borrower_id}", key=idempotency_key)
    consents = consent_repository()
    existing = models.Consent.objects.filter(pk=consent_id).first()
    if existing is not None:
        return consents.get(consent_id), False
    consent = record_consent(
        consent_id=consent_id,
        borrower_id=borrower_id,
        purpose=purpose,
        method=method,
        granted_at=granted_at,
        recorded_by=actor,
        reference=reference,
        expires_at=expires_at,
        borrowers=borrower_repository(),
        consents=consents,
    )
    record_audit(
        actor=actor, action="consent.recorded", entity="consent", entity_id=consent.id, after=consent_snapshot(consent)
    )
    return consent, True


@transaction.atomic  # type: ignore[untyped-decorator]
def withdraw_consent(*, borrower_id: str, consent_id: str, actor: str) -> Consent:
    """Revoke a borrower's consent from now on (a second revocation keeps the first time). Raises
    ``NotFound`` (also for a consent of another borrower)."""
    consents = consent_repository()
    before = consents.get(consent_id)
    if before.borrower_id != borrower_id:
        raise NotFound(entity="consent", key=consent_id)
    revoked = revoke_consent(consent_id=consent_id, at=timezone.now(), consents=consents)
    if revoked != before:
        record_audit(
            actor=actor,
            action="consent.revoked",
            entity="consent",
            entity_id=consent_id,
            before=consent_snapshot(before),
            after=consent_snapshot(revoked),
        )
    return revoked


@transaction.atomic  # type: ignore[untyped-decorator]
def verify(*, borrower_id: str, actor: str, on: date) -> tuple[models.IdentityVerification, VerificationOutcome]:
    """Run the identity checks (``verification``) and record the result. Raises ``NotFound``."""
    repository = borrower_repository()
    borrower = repository.get(borrower_id)
    holders: dict[Identifier, str | None] = {}
    for identifier in borrower.identifiers:
        holder = repository.find_by_identifier(identifier)
        holders[identifier] = holder.id if holder else None
    outcome = verify_identity(
        borrower=borrower, holders=holders, suspicions=repository.suspicions_for(borrower_id), on=on
    )
    row = models.IdentityVerification.objects.create(
        borrower_id=borrower_id,
        result=outcome.result,
        checks=[c.as_dict() for c in outcome.checks],
        verified_by=actor,
        verified_at=timezone.now(),
    )
    record_audit(
        actor=actor,
        action="borrower.identity_verified",
        entity="borrower",
        entity_id=borrower_id,
        after={"verification_id": str(row.id), "result": outcome.result, "checks": row.checks},
    )
    return row, outcome
