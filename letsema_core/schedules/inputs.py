"""Coercion and validation of loan inputs, shared by ``LoanTerms`` and ``LoanProduct``.

Each helper turns a caller's value into the core's type (``Decimal``, ``int``,
an enum member, a ``date``) or raises ``ValidationError`` naming the field and
the rule. Floats are refused everywhere: money and rates are Decimal-only.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Final, TypeVar

from letsema_core.errors import ValidationError
from letsema_core.money import CENT, CURRENCY, Money, to_decimal

AmountInput = Decimal | int | str | Money
"""What callers may pass for an amount or a rate: never a float."""

# The largest amount a DecimalField(max_digits=14, decimal_places=2) column holds (STYLE.md §4).
MAX_AMOUNT: Final = Decimal("999999999999.99")

E = TypeVar("E", bound=Enum)


def coerce_amount(
    value: AmountInput,
    *,
    field: str,
    allow_zero: bool,
) -> Decimal:
    """An amount of money in cents: ``Decimal`` with two places, ≥ 0 (or > 0), ≤ ``MAX_AMOUNT``.

    Raises ``ValidationError`` with rule ``currency`` (``Money`` in another currency than LSL),
    ``decimal`` (not a decimal, e.g. a float),
    ``min_value``, ``max_value`` or ``max_decimal_places`` (fractions of a cent).
    """
    if isinstance(value, Money) and value.currency != CURRENCY:
        raise ValidationError(
            f"{field} must be in {CURRENCY}, not {value.currency}", field=field, rule="currency", currency=CURRENCY
        )
    amount = to_decimal(value, field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(
            f"{field} must be {'at least 0' if allow_zero else 'greater than 0'}",
            field=field,
            rule="min_value",
            min="0.00" if allow_zero else "0.01",
        )
    if amount > MAX_AMOUNT:
        raise ValidationError(
            f"{field} must be at most {MAX_AMOUNT}", field=field, rule="max_value", max=str(MAX_AMOUNT)
        )
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValidationError(
            f"{field} cannot have fractions of a cent", field=field, rule="max_decimal_places", places=2
        )
    return cents


def coerce_percent(value: AmountInput, *, field: str, maximum: Decimal) -> Decimal:
    """A percentage as ``Decimal`` in [0, maximum], at most 6 decimal places.

    Raises ``ValidationError`` with rule ``decimal``, ``min_value``, ``max_value`` or ``max_decimal_places``.
    """
    percent = to_decimal(value, field=field)
    if percent < 0:
        raise ValidationError(f"{field} must be at least 0", field=field, rule="min_value", min="0")
    if percent > maximum:
        raise ValidationError(f"{field} must be at most {maximum}", field=field, rule="max_value", max=str(maximum))
    exponent = percent.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        raise ValidationError(
            f"{field} has more than 6 decimal places", field=field, rule="max_decimal_places", places=6
        )
    return percent


def coerce_count(value: int, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number in [minimum, maximum] (bools refused).

    Raises ``ValidationError`` with rule ``integer``, ``min_value`` or ``max_value``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number", field=field, rule="integer")
    if value < minimum:
        raise ValidationError(f"{field} must be at least {minimum}", field=field, rule="min_value", min=minimum)
    if value > maximum:
        raise ValidationError(f"{field} must be at most {maximum}", field=field, rule="max_value", max=maximum)
    return value


def coerce_enum(value: E | str, enum: type[E], *, field: str) -> E:
    """An enum member, given either the member or its string value.

    Raises ``ValidationError`` with rule ``choice`` (``choices`` in details).
    """
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        choices = [str(member.value) for member in enum]
        raise ValidationError(
            f"{field} must be one of {', '.join(choices)}", field=field, rule="choice", choices=choices
        ) from None


def coerce_date(value: date, *, field: str) -> date:
    """A calendar date (a ``datetime`` is refused: the core works in whole days).

    Raises ``ValidationError`` with rule ``date``.
    """
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ValidationError(f"{field} must be a date", field=field, rule="date")
    return value


def require_text(value: str, *, field: str) -> str:
    """A non-blank string, stripped. Raises ``ValidationError`` with rule ``required``."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} is required", field=field, rule="required")
    return value.strip()
