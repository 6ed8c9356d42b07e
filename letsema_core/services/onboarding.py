"""Onboarding: register a borrower (with the duplicate rules) and record or revoke consent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from letsema_core.borrowers import (
    Borrower,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    District,
    DuplicateSuspicion,
    Gender,
    check_duplicates,
    new_borrower,
)
from letsema_core.identity import Identifier, PhoneNumber
from letsema_core.ports import BorrowerRepository, ConsentRepository


@dataclass(frozen=True, slots=True)
class Registration:
    """A registered borrower and the likely duplicates flagged for review (registration went ahead)."""

    borrower: Borrower
    suspicions: tuple[DuplicateSuspicion, ...]


def register_borrower(
    *,
    borrower_id: str,
    first_name: str,
    last_name: str,
    date_of_birth: date,
    district: District | str,
    phone: PhoneNumber | str,
    monthly_income: Decimal | int | str,
    identifiers: Sequence[Identifier | Mapping[str, str]],
    created_by: str,
    on: date,
    borrowers: BorrowerRepository,
    gender: Gender | str | None = None,
) -> Registration:
    """Validate, check duplicates and store a new borrower; record any duplicate suspicion.

    Raises ``ValidationError`` (see ``new_borrower``) or ``DuplicateIdentifier`` (409) when another
    borrower of the MFI holds one of the identifiers; nothing is stored then.
    """
    borrower = new_borrower(
        borrower_id=borrower_id,
        first_name=first_name,
        last_name=last_name,
        date_of_birth=date_of_birth,
        district=district,
        phone=phone,
        monthly_income=monthly_income,
        identifiers=identifiers,
        created_by=created_by,
        on=on,
        gender=gender,
    )
    holders = [h for h in (borrowers.find_by_identifier(i) for i in borrower.identifiers) if h is not None]
    suspicions = check_duplicates(
        candidate=borrower,
        holders_of_identifiers=holders,
        same_name_and_birth_date=borrowers.find_by_name_and_birth_date(
            normalised_name=borrower.normalised_name, date_of_birth=borrower.date_of_birth
        ),
        on=on,
    )
    borrowers.add(borrower)
    for suspicion in suspicions:
        borrowers.add_suspicion(suspicion)
    return Registration(borrower=borrower, suspicions=suspicions)


def record_consent(
    *,
    consent_id: str,
    borrower_id: str,
    purpose: ConsentPurpose | str,
    method: ConsentMethod | str,
    granted_at: datetime,
    recorded_by: str,
    reference: str,
    borrowers: BorrowerRepository,
    consents: ConsentRepository,
    expires_at: datetime | None = None,
) -> Consent:
    """Record a borrower's consent as the officer took it. Raises ``NotFound`` for an unknown borrower
    and ``ValidationError`` for an invalid consent (see ``Consent.grant``)."""
    borrowers.get(borrower_id)
    consent = Consent.grant(
        consent_id=consent_id,
        borrower_id=borrower_id,
        purpose=purpose,
        method=method,
        granted_at=granted_at,
        recorded_by=recorded_by,
        reference=reference,
        expires_at=expires_at,
    )
    consents.save(consent)
    return consent


def revoke_consent(*, consent_id: str, at: datetime, consents: ConsentRepository) -> Consent:
    """Revoke a consent from ``at`` on (a second revocation keeps the first time). Raises ``NotFound``."""
    revoked = consents.get(consent_id).revoke(at=at)
    consents.save(revoked)
    return revoked
