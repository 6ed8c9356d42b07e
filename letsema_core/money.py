"""Money as an exact decimal amount in one currency (LSL by default).

Arithmetic is ``Decimal`` throughout; building from a ``float`` is refused.
Rounding happens only where a rule says so, with the one ``ROUNDING`` constant
(half-up to the cent, as DOMAIN.md fixes for every schedule component).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final, Union

from letsema_core.errors import DomainError, ValidationError

CURRENCY: Final = "LSL"
CENT: Final = Decimal("0.01")
ROUNDING: Final = ROUND_HALF_UP


def round_cent(value: Decimal) -> Decimal:
    """Round a decimal half-up to the cent (the one rounding rule for money)."""
    return value.quantize(CENT, rounding=ROUNDING)


def to_decimal(value: Decimal | int | str | Money, *, field: str = "amount") -> Decimal:
    """Convert an amount given as Decimal, int, a decimal string or Money to Decimal.

    Raises ``ValidationError`` (rule ``decimal``) for floats, bools and text that
    is not a finite decimal number.
    """
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, (bool, float)):
        raise ValidationError(
            f"{field} must be a decimal string or Decimal, not {type(value).__name__}",
            field=field,
            rule="decimal",
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{field} is not a decimal number: {value!r}", field=field, rule="decimal") from None
    else:
        raise ValidationError(
            f"{field} must be a decimal string or Decimal, not {type(value).__name__}", field=field, rule="decimal"
        )
    if not result.is_finite():
        raise ValidationError(f"{field} must be a finite number", field=field, rule="decimal")
    return result


class CurrencyMismatch(DomainError):
    """Two amounts in different currencies were combined."""

    code = "currency_mismatch"
    http_status = 400


MoneyLike = Union["Money", Decimal, int, str]


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of one currency. Immutable; exact; never a float.

    ``Money("945.60")`` or ``Money(Decimal("945.60"))``; the amount is kept at
    full precision until ``rounded()`` is asked for.
    """

    amount: Decimal
    currency: str = CURRENCY

    def __init__(self, amount: Decimal | int | str, currency: str = CURRENCY) -> None:
        object.__setattr__(self, "amount", to_decimal(amount))
        object.__setattr__(self, "currency", currency)

    @classmethod
    def zero(cls, currency: str = CURRENCY) -> Money:
        return cls(Decimal("0.00"), currency)

    def _other(self, other: object) -> Decimal:
        if isinstance(other, Money):
            if other.currency != self.currency:
                raise CurrencyMismatch(
                    f"cannot combine {self.currency} with {other.currency}",
                    details={"left": self.currency, "right": other.currency},
                )
            return other.amount
        if isinstance(other, (Decimal, int)) and not isinstance(other, bool):
            return Decimal(other)
        raise TypeError(f"unsupported operand: Money and {type(other).__name__}")

    def __add__(self, other: MoneyLike) -> Money:
        return Money(self.amount + self._other(other), self.currency)

    __radd__ = __add__

    def __sub__(self, other: MoneyLike) -> Money:
        return Money(self.amount - self._other(other), self.currency)

    def __rsub__(self, other: MoneyLike) -> Money:
        return Money(self._other(other) - self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, (Money, float, bool)):
            raise TypeError("Money can only be multiplied by a Decimal or int")
        return Money(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Money):
            return self.currency == other.currency and self.amount == other.amount
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.amount, self.currency))

    def __lt__(self, other: MoneyLike) -> bool:
        return self.amount < self._other(other)

    def __le__(self, other: MoneyLike) -> bool:
        return self.amount <= self._other(other)

    def __gt__(self, other: MoneyLike) -> bool:
        return self.amount > self._other(other)

    def __ge__(self, other: MoneyLike) -> bool:
        return self.amount >= self._other(other)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def rounded(self) -> Money:
        """This amount rounded half-up to the cent."""
        return Money(round_cent(self.amount), self.currency)

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{round_cent(self.amount):.2f}"

    def __repr__(self) -> str:
        return f"Money('{self.amount}', {self.currency!r})"
