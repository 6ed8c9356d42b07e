"""Credit reports (consent required, every pull an inquiry), the borrower's own credit file, disputes."""

from __future__ import annotations

from datetime import datetime

from letsema_core.borrowers import require_active_consent
from letsema_core.credit.keys import KeyedHasher
from letsema_core.credit.registry import CreditDispute, CreditFile, CreditInquiry, CreditRegistry
from letsema_core.credit.report import CreditReport, build_credit_report
from letsema_core.errors import ValidationError
from letsema_core.ports import BorrowerRepository, ConsentRepository
from letsema_core.services.context import Tenant


def pull_credit_report(
    *,
    borrower_id: str,
    purpose: str,
    user: str,
    at: datetime,
    inquiry_id: str,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    consents: ConsentRepository,
    registry: CreditRegistry,
    hasher: KeyedHasher,
) -> CreditReport:
    """The borrower's cross-MFI report as of ``at``; records the inquiry (MFI, user, purpose, time, consent).

    The report is built from the file as it was before this inquiry, so the pull does not count in its
    own inquiry windows. Raises ``NotFound`` (borrower), ``ValidationError`` (empty purpose or user) and
    ``ConsentRequired`` when the borrower has no active consent at this MFI — no inquiry is recorded then.
    """
    for name, value in (("purpose", purpose), ("user", user)):
        if not value or not value.strip():
            raise ValidationError(f"{name} is required", field=name, rule="required")
    key = borrowers.registry_key(borrower_id, hasher)  # NotFound for an unknown borrower
    consent = require_active_consent(consents=consents.for_borrower(borrower_id), borrower_id=borrower_id, at=at)
    credit_file = registry.credit_file(country=tenant.country, borrower_key=key)
    report = build_credit_report(
        credit_file=credit_file, as_of=at, inquiring_mfi=tenant.mfi_id, rules=tenant.stacking_rules
    )
    registry.record_inquiry(
        CreditInquiry(
            inquiry_id=inquiry_id,
            country=tenant.country,
            borrower_key=key,
            lender_mfi=tenant.mfi_id,
            user=user,
            purpose=purpose.strip(),
            at=at,
            consent_reference=consent.reference,
        )
    )
    return report


def borrower_credit_file(
    *,
    borrower_id: str,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    registry: CreditRegistry,
    hasher: KeyedHasher,
) -> CreditFile:
    """Everything the registry holds on the borrower (accounts, inquiries, disputes), as the law gives
    them on request. Not an inquiry, and no consent needed: it is the borrower's own data. Raises
    ``NotFound``."""
    key = borrowers.registry_key(borrower_id, hasher)
    return registry.credit_file(country=tenant.country, borrower_key=key)


def open_credit_dispute(
    *,
    dispute_id: str,
    borrower_id: str,
    lender_mfi: str,
    loan_ref: str,
    reason: str,
    at: datetime,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    registry: CreditRegistry,
    hasher: KeyedHasher,
) -> CreditDispute:
    """Record the borrower's dispute of one registry account (any MFI's); it is flagged on reports while
    open. Raises ``NotFound`` (borrower, or no such account in the borrower's file) and
    ``ValidationError`` (empty reason)."""
    if not reason or not reason.strip():
        raise ValidationError("a reason is required", field="reason", rule="required")
    dispute = CreditDispute(
        dispute_id=dispute_id,
        country=tenant.country,
        borrower_key=borrowers.registry_key(borrower_id, hasher),
        lender_mfi=lender_mfi,
        loan_ref=loan_ref,
        reason=reason.strip(),
        opened_at=at,
    )
    registry.open_dispute(dispute)
    return dispute


def resolve_credit_dispute(
    *, dispute_id: str, resolution: str, at: datetime, tenant: Tenant, registry: CreditRegistry
) -> CreditDispute:
    """Resolve a dispute of one of this MFI's accounts. Raises ``NotFound``, ``DisputeNotOwned`` (403,
    another MFI's account), ``InvalidTransition`` (already resolved), ``ValidationError``."""
    return registry.resolve_dispute(dispute_id=dispute_id, by_mfi=tenant.mfi_id, resolution=resolution, at=at)
