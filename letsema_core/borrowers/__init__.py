"""Borrowers, their registration rules (duplicates) and their consents."""

from letsema_core.borrowers.consent import (
    REPORT_PURPOSES,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    ConsentRequired,
    require_active_consent,
)
from letsema_core.borrowers.model import (
    Borrower,
    District,
    DuplicateIdentifier,
    DuplicateSuspicion,
    Gender,
    check_duplicates,
    new_borrower,
    normalise_name,
)

__all__ = [
    "REPORT_PURPOSES",
    "Borrower",
    "Consent",
    "ConsentMethod",
    "ConsentPurpose",
    "ConsentRequired",
    "District",
    "DuplicateIdentifier",
    "DuplicateSuspicion",
    "Gender",
    "check_duplicates",
    "new_borrower",
    "normalise_name",
    "require_active_consent",
]
