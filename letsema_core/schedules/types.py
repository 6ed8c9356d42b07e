"""Value types of a repayment schedule (Fineract's vocabulary, Python spelling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Installment:
    """One period of a schedule. Every amount is a Decimal rounded to the cent.

    ``balance_after`` is the outstanding principal once this installment's
    principal is repaid; ``total_due`` = principal + interest + fees + penalties.
    """

    number: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    fees_due: Decimal
    penalties_due: Decimal
    total_due: Decimal
    balance_after: Decimal


@dataclass(frozen=True, slots=True)
class RepaymentSchedule:
    """A loan's installments in due-date order, with the amounts they add up to."""

    installments: tuple[Installment, ...]
    principal: Decimal
    upfront_fees: Decimal

    @property
    def total_principal(self) -> Decimal:
        return sum((i.principal_due for i in self.installments), Decimal("0.00"))

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest_due for i in self.installments), Decimal("0.00"))

    @property
    def total_fees(self) -> Decimal:
        return sum((i.fees_due for i in self.installments), Decimal("0.00"))

    @property
    def total_due(self) -> Decimal:
        return sum((i.total_due for i in self.installments), Decimal("0.00"))
