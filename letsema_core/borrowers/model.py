"""The borrower record and the registration rules: validation and duplicate checks.

DOMAIN.md "Identity": on registration, normalise; reject a duplicate of the same identifier within the
MFI (``DuplicateIdentifier``, 409); flag, never block, a likely duplicate person — the same normalised
name and date of birth under another identifier — for review (``DuplicateSuspicion``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from letsema_core.errors import DomainError, ValidationError
from letsema_core.identity import Identifier, PhoneNumber, primary_identifier
from letsema_core.money import to_decimal

MAX_NAME_LENGTH: Final = 100


class District(StrEnum):
    """Lesotho's ten administrative districts."""

    BEREA = "berea"
    BUTHA_BUTHE = "butha_buthe"
    LERIBE = "leribe"
    MAFETENG = "mafeteng"
    MASERU = "maseru"
    MOHALES_HOEK = "mohales_hoek"
    MOKHOTLONG = "mokhotlong"
    QACHAS_NEK = "qachas_nek"
    QUTHING = "quthing"
    THABA_TSEKA = "thaba_tseka"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class DuplicateIdentifier(DomainError):
    """Another borrower of this MFI already holds one of the identifiers."""

    code = "duplicate_identifier"
    http_status = 409


def normalise_name(*names: str) -> str:
    """Names as compared for duplicates: accents removed, case-folded, punctuation dropped, spaces collapsed.

    ``normalise_name("Tšepo", "Mokoena-Ntlo")`` == ``"tsepo mokoena ntlo"``.
    """
    text = unicodedata.normalize("NFKD", " ".join(names))
    kept = "".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch) and ch not in "'’`")
    return " ".join(kept.casefold().split())


@dataclass(frozen=True, slots=True)
class Borrower:
    """A borrower of one MFI. Build a new one with ``new_borrower`` (which validates)."""

    id: str
    first_name: str
    last_name: str
    date_of_birth: date
    district: District
    phone: PhoneNumber
    monthly_income: Decimal
    identifiers: tuple[Identifier, ...]
    created_by: str
    created_on: date
    gender: Gender | None = None

    @property
    def normalised_name(self) -> str:
        return normalise_name(self.first_name, self.last_name)

    @property
    def primary_identifier(self) -> Identifier:
        """The identifier that keys this borrower in the shared registry (see ``primary_identifier``)."""
        return primary_identifier(self.identifiers)


@dataclass(frozen=True, slots=True)
class DuplicateSuspicion:
    """A likely duplicate person, recorded for an officer to review; registration went ahead."""

    borrower_id: str
    matching_borrower_id: str
    reason: str
    detected_on: date


def _name(value: str, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required", field=field, rule="required")
    cleaned = " ".join(value.split())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{field} is longer than {MAX_NAME_LENGTH} characters",
            field=field,
            rule="max_length",
            limit=MAX_NAME_LENGTH,
        )
    return cleaned


def _identifiers(values: Sequence[Identifier | Mapping[str, str]]) -> tuple[Identifier, ...]:
    result: list[Identifier] = []
    for index, value in enumerate(values):
        field = f"identifiers[{index}]"
        if isinstance(value, Identifier):
            identifier = value
        else:
            identifier = Identifier.parse(type=value.get("type", ""), value=value.get("value", ""), field=field)
        if identifier in result:
            raise ValidationError("the same identifier is given twice", field=field, rule="duplicate")
        result.append(identifier)
    if not result:
        raise ValidationError("at least one identifier is required", field="identifiers", rule="required")
    return tuple(result)


def new_borrower(
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
    gender: Gender | str | None = None,
) -> Borrower:
    """Validate and normalise a borrower's registration data (duplicates are checked separately).

    Raises ``ValidationError`` naming the field: names required and ≤ 100 characters; the date of birth
    before ``on``; a known district and gender; a valid phone (``PhoneNumber.parse``); identifiers valid,
    at least one, none twice; monthly income a non-negative amount with at most two decimals.
    """
    if date_of_birth >= on:
        raise ValidationError("the date of birth must be in the past", field="date_of_birth", rule="past")
    try:
        district_value = District(district)
    except ValueError:
        raise ValidationError(
            f"unknown district {district!r}", field="district", rule="choice", allowed=[d.value for d in District]
        ) from None
    gender_value: Gender | None = None
    if gender is not None:
        try:
            gender_value = Gender(gender)
        except ValueError:
            raise ValidationError(
                f"unknown gender {gender!r}", field="gender", rule="choice", allowed=[g.value for g in Gender]
            ) from None
    income = to_decimal(monthly_income, field="monthly_income")
    if income < 0:
        raise ValidationError("monthly income cannot be negative", field="monthly_income", rule="min_value", limit="0")
    if income != income.quantize(Decimal("0.01")):
        raise ValidationError("monthly income has at most two decimals", field="monthly_income", rule="decimal_places")
    if not created_by:
        raise ValidationError("the registering user is required", field="created_by", rule="required")
    return Borrower(
        id=borrower_id,
        first_name=_name(first_name, field="first_name"),
        last_name=_name(last_name, field="last_name"),
        date_of_birth=date_of_birth,
        district=district_value,
        phone=phone if isinstance(phone, PhoneNumber) else PhoneNumber.parse(phone),
        monthly_income=income.quantize(Decimal("0.01")),
        identifiers=_identifiers(identifiers),
        created_by=created_by,
        created_on=on,
        gender=gender_value,
    )


def check_duplicates(
    *,
    candidate: Borrower,
    holders_of_identifiers: Iterable[Borrower],
    same_name_and_birth_date: Iterable[Borrower],
    on: date,
) -> tuple[DuplicateSuspicion, ...]:
    """Apply the duplicate rules to a borrower about to be registered.

    ``holders_of_identifiers``: existing borrowers of the MFI holding any of the candidate's identifiers;
    ``same_name_and_birth_date``: existing borrowers with the candidate's normalised name and date of birth.
    Raises ``DuplicateIdentifier`` (409) if another borrower holds one of the identifiers; otherwise
    returns one ``DuplicateSuspicion`` per other borrower who looks like the same person.
    """
    for other in holders_of_identifiers:
        shared = [i for i in candidate.identifiers if i in other.identifiers and other.id != candidate.id]
        if shared:
            raise DuplicateIdentifier(
                f"another borrower already holds this {shared[0].type.value}",
                details={
                    "field": "identifiers",
                    "rule": "unique",
                    "identifier_type": shared[0].type.value,
                    "existing_borrower_id": other.id,
                },
            )
    return tuple(
        DuplicateSuspicion(
            borrower_id=candidate.id,
            matching_borrower_id=other.id,
            reason="same_name_and_date_of_birth",
            detected_on=on,
        )
        for other in same_name_and_birth_date
        if other.id != candidate.id
        and other.date_of_birth == candidate.date_of_birth
        and other.normalised_name == candidate.normalised_name
    )
