"""A borrower's consent to credit sharing and credit reports, and the rule that reports need one.

Credit Reporting Act 2011 and Data Protection Act 2013 (DOMAIN.md "Credit registry"): a report is refused
without an active consent of the borrower at the inquiring MFI. Two purposes exist:

- ``credit_sharing`` — the broad consent taken at onboarding: the MFI may share the borrower's accounts
  with the registry and read the borrower's registry file. It therefore also allows a report.
- ``credit_report`` — a narrower consent to one or more report pulls only.

A consent is active at ``at`` when ``granted_at <= at``, it has not expired (``at < expires_at``) and it
has not been revoked (``at < revoked_at``). All times are timezone-aware.

``ConsentRequired`` uses HTTP 422, not 403: the caller is authorised; it is the borrower's record that
lacks the precondition, and the same request succeeds once a consent is recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from letsema_core.errors import DomainError, ValidationError


class ConsentPurpose(StrEnum):
    CREDIT_SHARING = "credit_sharing"
    CREDIT_REPORT = "credit_report"


class ConsentMethod(StrEnum):
    WRITTEN = "written"
    VERBAL_RECORDED = "verbal_recorded"
    DIGITAL = "digital"


REPORT_PURPOSES: Final = frozenset({ConsentPurpose.CREDIT_SHARING, ConsentPurpose.CREDIT_REPORT})


class ConsentRequired(DomainError):
    """No active consent of the borrower allows this credit report."""

    code = "consent_required"
    http_status = 422


def _aware(value: datetime, *, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field} must carry a timezone", field=field, rule="timezone")
    return value


@dataclass(frozen=True, slots=True)
class Consent:
    """One consent as the officer recorded it. Build with ``Consent.grant``; withdraw with ``revoke``."""

    id: str
    borrower_id: str
    purpose: ConsentPurpose
    method: ConsentMethod
    granted_at: datetime
    recorded_by: str
    reference: str
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def grant(
        cls,
        *,
        consent_id: str,
        borrower_id: str,
        purpose: ConsentPurpose | str,
        method: ConsentMethod | str,
        granted_at: datetime,
        recorded_by: str,
        reference: str,
        expires_at: datetime | None = None,
    ) -> Consent:
        """Validate a consent. Raises ``ValidationError`` for an unknown purpose or method, a missing
        reference or recorder, a naive datetime, or an expiry not after the grant."""
        try:
            purpose_value = ConsentPurpose(purpose)
        except ValueError:
            raise ValidationError(f"unknown consent purpose {purpose!r}", field="purpose", rule="choice") from None
        try:
            method_value = ConsentMethod(method)
        except ValueError:
            raise ValidationError(f"unknown consent method {method!r}", field="method", rule="choice") from None
        if not reference or not reference.strip():
            raise ValidationError("the consent reference is required", field="reference", rule="required")
        if not recorded_by:
            raise ValidationError("the recording user is required", field="recorded_by", rule="required")
        _aware(granted_at, field="granted_at")
        if expires_at is not None and _aware(expires_at, field="expires_at") <= granted_at:
            raise ValidationError("a consent must expire after it is granted", field="expires_at", rule="after_grant")
        return cls(
            id=consent_id,
            borrower_id=borrower_id,
            purpose=purpose_value,
            method=method_value,
            granted_at=granted_at,
            recorded_by=recorded_by,
            reference=reference.strip(),
            expires_at=expires_at,
        )

    def is_active(self, at: datetime) -> bool:
        """True when the consent is in force at ``at`` (granted, not expired, not revoked)."""
        _aware(at, field="at")
        if at < self.granted_at:
            return False
        if self.expires_at is not None and at >= self.expires_at:
            return False
        return self.revoked_at is None or at < self.revoked_at

    def revoke(self, *, at: datetime) -> Consent:
        """The consent revoked from ``at`` on. Revoking twice keeps the first revocation time."""
        _aware(at, field="revoked_at")
        if self.revoked_at is not None:
            return self
        return dataclasses.replace(self, revoked_at=at)


def require_active_consent(*, consents: Iterable[Consent], borrower_id: str, at: datetime) -> Consent:
    """The borrower's consent that allows a credit report at ``at`` (the most recently granted one).

    Raises ``ConsentRequired`` (422) when no consent of ``borrower_id`` for ``credit_sharing`` or
    ``credit_report`` is active at ``at`` — none recorded, expired or revoked.
    """
    active = [c for c in consents if c.borrower_id == borrower_id and c.purpose in REPORT_PURPOSES and c.is_active(at)]
    if not active:
        raise ConsentRequired(
            "the borrower has no active consent to a credit report at this MFI",
            details={"borrower_id": borrower_id, "rule": "active_consent"},
        )
    return max(active, key=lambda c: c.granted_at)
