"""The terms a schedule is generated from, and the lending enums they use."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from letsema_core.errors import ValidationError
from letsema_core.money import round_cent
from letsema_core.schedules.inputs import (
    AmountInput,
    coerce_amount,
    coerce_count,
    coerce_date,
    coerce_enum,
    coerce_percent,
)

# Sanity bounds the domain does not fix (see docs/domain-notes.md).
MAX_ANNUAL_INTEREST_RATE_PERCENT: Final = Decimal("1000")
MAX_TERM_IN_PERIODS: Final = 600
HUNDRED: Final = Decimal(100)


class RepaymentFrequency(StrEnum):
    """How often installments fall due."""

    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"

    @property
    def periods_per_year(self) -> int:
        """52, 26 or 12 (DOMAIN.md "Schedule arithmetic")."""
        return _PERIODS_PER_YEAR[self]


_PERIODS_PER_YEAR: Final = {
    RepaymentFrequency.WEEKLY: 52,
    RepaymentFrequency.FORTNIGHTLY: 26,
    RepaymentFrequency.MONTHLY: 12,
}


class InterestMethod(StrEnum):
    """How interest is charged: on the original principal (flat) or on the outstanding balance."""

    FLAT = "flat"
    DECLINING_BALANCE = "declining_balance"


class Amortization(StrEnum):
    """How principal is repaid. Flat interest always repays equal principal."""

    EQUAL_INSTALLMENTS = "equal_installments"
    EQUAL_PRINCIPAL = "equal_principal"


@dataclass(frozen=True, slots=True, init=False)
class LoanTerms:
    """The agreed terms of one loan: everything ``generate_schedule`` needs. Immutable.

    Amounts and rates accept ``Decimal``, ``int``, a decimal string or ``Money`` (never a
    float); enums accept their string values. Flat interest forces equal principal
    (DOMAIN.md: "flat uses equal principal"), whatever ``amortization`` says.

    Raises ``ValidationError`` (``field`` and ``rule`` set) when:
    principal ≤ 0 or has fractions of a cent; the rate is < 0 or > 1000 %; the term is
    < 1 or > 600 periods; an enum value is unknown (``choice``); a date is not a date;
    ``first_repayment_date`` is not after ``disbursement_date`` (``after_disbursement``);
    the principal grace is ≥ the term (``less_than_term``); the up-front fee percent is
    > 100 or the up-front fees are not less than the principal (``less_than_principal``).
    """

    principal: Decimal
    annual_interest_rate_percent: Decimal
    term_in_periods: int
    repayment_frequency: RepaymentFrequency
    interest_method: InterestMethod
    amortization: Amortization
    disbursement_date: date
    first_repayment_date: date | None
    grace_periods_principal: int
    upfront_fee_percent: Decimal
    upfront_fee_amount: Decimal
    upfront_fees: Decimal = field(init=False)
    """Total up-front fee in cents: round(principal · percent / 100) + fixed amount."""

    def __init__(
        self,
        *,
        principal: AmountInput,
        annual_interest_rate_percent: AmountInput,
        term_in_periods: int,
        repayment_frequency: RepaymentFrequency | str,
        interest_method: InterestMethod | str,
        amortization: Amortization | str = Amortization.EQUAL_INSTALLMENTS,
        disbursement_date: date,
        first_repayment_date: date | None = None,
        grace_periods_principal: int = 0,
        upfront_fee_percent: AmountInput = 0,
        upfront_fee_amount: AmountInput = 0,
    ) -> None:
        set_ = object.__setattr__
        principal_ = coerce_amount(principal, field="principal", allow_zero=False)
        rate = coerce_percent(
            annual_interest_rate_percent,
            field="annual_interest_rate_percent",
            maximum=MAX_ANNUAL_INTEREST_RATE_PERCENT,
        )
        term = coerce_count(term_in_periods, field="term_in_periods", minimum=1, maximum=MAX_TERM_IN_PERIODS)
        frequency = coerce_enum(repayment_frequency, RepaymentFrequency, field="repayment_frequency")
        method = coerce_enum(interest_method, InterestMethod, field="interest_method")
        amort = coerce_enum(amortization, Amortization, field="amortization")
        if method is InterestMethod.FLAT:
            amort = Amortization.EQUAL_PRINCIPAL
        disbursed_on = coerce_date(disbursement_date, field="disbursement_date")
        first_due: date | None = None
        if first_repayment_date is not None:
            first_due = coerce_date(first_repayment_date, field="first_repayment_date")
            if first_due <= disbursed_on:
                raise ValidationError(
                    "first_repayment_date must be after disbursement_date",
                    field="first_repayment_date",
                    rule="after_disbursement",
                    disbursement_date=disbursed_on.isoformat(),
                )
        grace = coerce_count(grace_periods_principal, field="grace_periods_principal", minimum=0, maximum=term)
        if grace >= term:
            raise ValidationError(
                "grace_periods_principal must be less than term_in_periods",
                field="grace_periods_principal",
                rule="less_than_term",
                term_in_periods=term,
            )
        fee_percent = coerce_percent(upfront_fee_percent, field="upfront_fee_percent", maximum=HUNDRED)
        fee_amount = coerce_amount(upfront_fee_amount, field="upfront_fee_amount", allow_zero=True)
        fees = upfront_fees_for(principal=principal_, percent=fee_percent, amount=fee_amount)
        if fees >= principal_:
            raise ValidationError(
                "up-front fees must be less than the principal",
                field="upfront_fees",
                rule="less_than_principal",
                upfront_fees=str(fees),
                principal=str(principal_),
            )
        set_(self, "principal", principal_)
        set_(self, "annual_interest_rate_percent", rate)
        set_(self, "term_in_periods", term)
        set_(self, "repayment_frequency", frequency)
        set_(self, "interest_method", method)
        set_(self, "amortization", amort)
        set_(self, "disbursement_date", disbursed_on)
        set_(self, "first_repayment_date", first_due)
        set_(self, "grace_periods_principal", grace)
        set_(self, "upfront_fee_percent", fee_percent)
        set_(self, "upfront_fee_amount", fee_amount)
        set_(self, "upfront_fees", fees)

    @property
    def periods_per_year(self) -> int:
        return self.repayment_frequency.periods_per_year

    @property
    def paying_periods(self) -> int:
        """The periods that repay principal: term minus the principal grace periods."""
        return self.term_in_periods - self.grace_periods_principal

    @property
    def net_disbursed(self) -> Decimal:
        """What the borrower receives: principal minus the up-front fees deducted at disbursement."""
        return self.principal - self.upfront_fees


def upfront_fees_for(*, principal: Decimal, percent: Decimal, amount: Decimal) -> Decimal:
    """The up-front fee on a principal: the percent part rounded half-up to the cent, plus the fixed amount."""
    return round_cent(principal * percent / HUNDRED) + amount
