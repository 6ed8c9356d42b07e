"""Identity values: borrower identifiers and phone numbers, normalised and validated.

Rules (DOMAIN.md "Identity"):

- **Lesotho national ID** (``lesotho_national_id``): exactly 12 digits once spaces and dashes are
  removed. Only the format is validated; the number is otherwise opaque (no check digit is published).
- **South African ID** (``south_african_id``): exactly 13 digits with a valid Luhn check digit (the
  last digit), as the South African Department of Home Affairs issues them.
- **Passport** (``passport``): 6 to 9 letters or digits once spaces and dashes are removed, upper-cased
  (ICAO 9303 machine-readable passports carry at most 9 characters in the document number field;
  Lesotho passports are a letter and 7 digits, e.g. ``RA1234567`` style numbers fit the rule). The
  issuing country is not part of the value, so two passports of different countries with the same
  number would compare equal: a known, accepted limitation.

Every identifier has a ``lookup_input`` (e.g. ``"LS:NID:012345678901"``): the normalised string that
the keyed hash (Transit HMAC in production) turns into the tenant DB's lookup key and, for the
borrower's primary identifier, the registry's ``borrower_key``. The raw number is never stored in
plain text by the adapters; the core only hands them this input.

Phone numbers are kept in E.164 (``+`` then country code and subscriber number, at most 15 digits).
Lesotho numbers (+266) have exactly 8 subscriber digits; ``"5xxxxxxx"``, ``"266 5xxx xxxx"``,
``"00266…"`` and ``"+266 …"`` spellings are accepted. Numbers of other countries are accepted only
fully formed with ``+`` (or ``00``) and their country code, 8 to 15 digits in all, because a bare
local number can only be read as a Lesotho number.

Errors are ``ValidationError(field=..., rule=...)`` with rules ``required``, ``format``, ``length``,
``luhn`` and ``type``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from letsema_core.errors import ValidationError

_SEPARATORS: Final = re.compile(r"[\s\-]+")
_PHONE_SEPARATORS: Final = re.compile(r"[\s\-().]+")
_DIGITS: Final = re.compile(r"\d+")
_PASSPORT: Final = re.compile(r"[A-Z0-9]{6,9}")

LESOTHO_COUNTRY_CODE: Final = "266"
LESOTHO_SUBSCRIBER_DIGITS: Final = 8


class IdentifierType(StrEnum):
    """The kinds of identity document a borrower can present."""

    LESOTHO_NATIONAL_ID = "lesotho_national_id"
    SOUTH_AFRICAN_ID = "south_african_id"
    PASSPORT = "passport"


# Prefix of each type's lookup input; the order of this mapping is also the preference order when a
# borrower holds several identifiers and one must key the registry (see ``primary_identifier``).
_LOOKUP_PREFIX: Final[dict[IdentifierType, str]] = {
    IdentifierType.LESOTHO_NATIONAL_ID: "LS:NID:",
    IdentifierType.SOUTH_AFRICAN_ID: "ZA:NID:",
    IdentifierType.PASSPORT: "PASSPORT:",
}


def luhn_is_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn (mod 10) check, its last digit being the check digit."""
    if not digits or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _strip(raw: str, *, field: str) -> str:
    if not isinstance(raw, str):
        raise ValidationError(f"{field} must be text", field=field, rule="type")
    value = _SEPARATORS.sub("", raw)
    if not value:
        raise ValidationError(f"{field} is required", field=field, rule="required")
    return value


def _digits_of_length(value: str, length: int, *, field: str, label: str) -> str:
    if not value.isdigit() or not value.isascii():
        raise ValidationError(f"{label} must contain digits only", field=field, rule="format")
    if len(value) != length:
        raise ValidationError(
            f"{label} must have exactly {length} digits, got {len(value)}", field=field, rule="length", expected=length
        )
    return value


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalised identity document number of one type. Build it with ``Identifier.parse``."""

    type: IdentifierType
    value: str

    @classmethod
    def parse(cls, *, type: IdentifierType | str, value: str, field: str = "identifier") -> Identifier:
        """Normalise and validate ``value`` as an identifier of ``type``.

        Raises ``ValidationError`` (``field``, rule ``type`` / ``required`` / ``format`` / ``length`` /
        ``luhn``) when the value does not fit the type's rule.
        """
        try:
            id_type = IdentifierType(type)
        except ValueError:
            raise ValidationError(
                f"unknown identifier type {type!r}",
                field=f"{field}.type",
                rule="type",
                allowed=[t.value for t in IdentifierType],
            ) from None
        normalised = _strip(value, field=field)
        if id_type is IdentifierType.LESOTHO_NATIONAL_ID:
            normalised = _digits_of_length(normalised, 12, field=field, label="a Lesotho national ID")
        elif id_type is IdentifierType.SOUTH_AFRICAN_ID:
            normalised = _digits_of_length(normalised, 13, field=field, label="a South African ID")
            if not luhn_is_valid(normalised):
                raise ValidationError("the South African ID's check digit is wrong", field=field, rule="luhn")
        else:
            normalised = normalised.upper()
            if not normalised.isascii() or not _PASSPORT.fullmatch(normalised):
                raise ValidationError("a passport number must be 6 to 9 letters or digits", field=field, rule="format")
        return cls(type=id_type, value=normalised)

    @property
    def lookup_input(self) -> str:
        """The normalised string the keyed hash is computed over, e.g. ``"LS:NID:012345678901"``."""
        return _LOOKUP_PREFIX[self.type] + self.value

    @property
    def masked(self) -> str:
        """The value with all but its last 4 characters hidden, for logs and screens."""
        return "*" * (len(self.value) - 4) + self.value[-4:]


class NationalId:
    """The Lesotho national ID, the registry's preferred key: 12 digits, opaque."""

    @staticmethod
    def parse(value: str, *, field: str = "national_id") -> Identifier:
        """Normalise a Lesotho national ID (spaces and dashes removed). Raises ``ValidationError``."""
        return Identifier.parse(type=IdentifierType.LESOTHO_NATIONAL_ID, value=value, field=field)


#: the order ``primary_identifier`` prefers identifier types in (the registry keys a borrower by the first held)
REGISTRY_KEY_PREFERENCE: Final[tuple[IdentifierType, ...]] = tuple(_LOOKUP_PREFIX)


def primary_identifier(identifiers: tuple[Identifier, ...] | list[Identifier]) -> Identifier:
    """The identifier that keys a borrower in the shared registry.

    Preference: Lesotho national ID, then South African ID, then passport; among several of one type,
    the first given. Raises ``ValidationError`` (``identifiers``, ``required``) for an empty list.
    """
    for id_type in REGISTRY_KEY_PREFERENCE:
        for identifier in identifiers:
            if identifier.type is id_type:
                return identifier
    raise ValidationError("at least one identifier is required", field="identifiers", rule="required")


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A phone number in E.164 form (``+26658123456``). Build it with ``PhoneNumber.parse``."""

    e164: str

    @classmethod
    def parse(cls, raw: str, *, field: str = "phone") -> PhoneNumber:
        """Normalise a phone number to E.164 (rules in the module docstring).

        Raises ``ValidationError`` (``field``, rule ``required`` / ``format`` / ``length``).
        """
        if not isinstance(raw, str):
            raise ValidationError(f"{field} must be text", field=field, rule="type")
        value = _PHONE_SEPARATORS.sub("", raw)
        if not value:
            raise ValidationError(f"{field} is required", field=field, rule="required")
        international = False
        if value.startswith("+"):
            international, value = True, value[1:]
        elif value.startswith("00"):
            international, value = True, value[2:]
        if not value.isascii() or not _DIGITS.fullmatch(value):
            raise ValidationError("a phone number may contain digits only after '+'", field=field, rule="format")
        if value.startswith(LESOTHO_COUNTRY_CODE) and (international or len(value) == 3 + LESOTHO_SUBSCRIBER_DIGITS):
            subscriber = value[3:]
        elif not international:
            subscriber = value
        else:
            # A fully formed number of another country: E.164 allows at most 15 digits, and no
            # country code starts with 0.
            if value.startswith("0") or not 8 <= len(value) <= 15:
                raise ValidationError(
                    "an international number needs its country code and 8 to 15 digits in all",
                    field=field,
                    rule="format",
                )
            return cls(e164="+" + value)
        if len(subscriber) != LESOTHO_SUBSCRIBER_DIGITS:
            raise ValidationError(
                f"a Lesotho number has {LESOTHO_SUBSCRIBER_DIGITS} digits after +266",
                field=field,
                rule="length",
                expected=LESOTHO_SUBSCRIBER_DIGITS,
            )
        if subscriber.startswith("0"):
            raise ValidationError("a Lesotho number does not start with 0", field=field, rule="format")
        return cls(e164="+" + LESOTHO_COUNTRY_CODE + subscriber)

    @property
    def is_lesotho(self) -> bool:
        return self.e164.startswith("+" + LESOTHO_COUNTRY_CODE)

    def __str__(self) -> str:
        return self.e164
