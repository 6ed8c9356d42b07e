"""Identity verification of a registered borrower: which checks pass, and the outcome.

Framework-free on purpose (it could move to ``letsema_core.borrowers``): the service gathers the
facts from the repository and this module decides. The checks:

- ``identifier_format``: every identifier still satisfies its type's rule (DOMAIN.md "Identity";
  ``Identifier.parse`` on the stored value) — catches data written before a rule was tightened.
- ``identifier_unique``: no other borrower of the MFI holds one of the identifiers.
- ``duplicate_person``: no likely-duplicate person was flagged for the borrower (same normalised name
  and date of birth under another identifier) — the fraud pattern of one person registering twice.
- ``adult``: the borrower is at least 18 on the day of the check (Lesotho's age of majority; a
  minor's or an implausible date of birth is a common sign of a mistyped or borrowed identity).

The outcome is ``verified`` when every check passes, ``needs_review`` otherwise. Nothing is blocked:
an officer reviews.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from letsema_core.borrowers import Borrower, DuplicateSuspicion
from letsema_core.errors import ValidationError
from letsema_core.identity import Identifier

AGE_OF_MAJORITY: Final = 18
VERIFIED: Final = "verified"
NEEDS_REVIEW: Final = "needs_review"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class VerificationOutcome:
    result: str
    checks: tuple[Check, ...]


def age_on(*, date_of_birth: date, on: date) -> int:
    """Whole years from ``date_of_birth`` to ``on``."""
    return on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))


def verify_identity(
    *,
    borrower: Borrower,
    holders: Mapping[Identifier, str | None],
    suspicions: Sequence[DuplicateSuspicion],
    on: date,
) -> VerificationOutcome:
    """Run the checks (module docstring). ``holders``: for each identifier, the id of the borrower the
    MFI's records give as its holder (None when nobody)."""
    bad_format: list[str] = []
    for identifier in borrower.identifiers:
        try:
            Identifier.parse(type=identifier.type, value=identifier.value)
        except ValidationError as exc:
            bad_format.append(f"{identifier.type.value} {identifier.masked}: {exc.rule}")
    others = sorted({h for h in holders.values() if h is not None and h != borrower.id})
    age = age_on(date_of_birth=borrower.date_of_birth, on=on)
    checks = (
        Check("identifier_format", not bad_format, "; ".join(bad_format) or "all identifiers are well formed"),
        Check(
            "identifier_unique",
            not others,
            f"also held by borrower(s) {', '.join(others)}" if others else "no other borrower holds them",
        ),
        Check(
            "duplicate_person",
            not suspicions,
            f"{len(suspicions)} likely duplicate(s) flagged for review" if suspicions else "none flagged",
        ),
        Check("adult", age >= AGE_OF_MAJORITY, f"{age} years old on {on.isoformat()}"),
    )
    return VerificationOutcome(result=VERIFIED if all(c.passed for c in checks) else NEEDS_REVIEW, checks=checks)
