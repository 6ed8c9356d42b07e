"""Loan products: what an MFI offers, and the terms a loan on a product may have (DOMAIN.md "Products")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from letsema_core.errors import ValidationError
from letsema_core.money import CURRENCY, round_cent
from letsema_core.schedules.inputs import (
    AmountInput,
    coerce_amount,
    coerce_count,
    coerce_enum,
    coerce_percent,
    require_text,
)
from letsema_core.schedules.terms import (
    HUNDRED,
    MAX_ANNUAL_INTEREST_RATE_PERCENT,
    MAX_TERM_IN_PERIODS,
    Amortization,
    InterestMethod,
    LoanTerms,
    RepaymentFrequency,
    upfront_fees_for,
)

__all__ = [
    "Amortization",
    "InterestMethod",
    "LoanProduct",
    "PrincipalOutOfRange",
    "RepaymentFrequency",
    "TermOutOfRange",
]

SUPPORTED_CURRENCIES: Final = frozenset({CURRENCY})


class PrincipalOutOfRange(ValidationError):
    """The requested principal is outside the product's range (``rule`` is ``min_value`` or ``max_value``)."""

    code = "principal_out_of_range"
    http_status = 422


class TermOutOfRange(ValidationError):
    """The requested term is outside the product's range (``rule`` is ``min_value`` or ``max_value``)."""

    code = "term_out_of_range"
    http_status = 422


@dataclass(frozen=True, slots=True, init=False)
class LoanProduct:
    """A loan product an MFI offers. Immutable; validated when built.

    Amounts, rates and percentages accept ``Decimal``, ``int``, a decimal string or ``Money``
    (never a float); enums accept their string values. ``max_debt_to_income_percent`` is a
    percentage of monthly income (40 means all monthly installments, the new loan's included,
    may be at most 40 % of monthly income; see ``max_debt_to_income_ratio``). Flat interest
    forces equal principal (DOMAIN.md), whatever ``amortization`` says.

    Raises ``ValidationError`` (``field`` and ``rule`` set) when: ``code`` or ``name`` is blank
    (``required``); the currency is not LSL (``currency``); ``principal_min`` ≤ 0 or
    ``principal_max`` < ``principal_min`` (``not_below_principal_min``); ``term_min`` < 1 or
    ``term_max`` < ``term_min`` (``not_below_term_min``); a rate or percentage is out of range;
    ``grace_periods_principal`` ≥ ``term_min`` (``less_than_term_min``); the up-front fees on
    ``principal_min`` are not less than it (``less_than_principal``); ``approval_limit`` ≤ 0;
    ``max_debt_to_income_percent`` is not in (0, 100].
    """

    code: str
    name: str
    currency: str
    principal_min: Decimal
    principal_max: Decimal
    term_min: int
    term_max: int
    repayment_frequency: RepaymentFrequency
    annual_interest_rate_percent: Decimal
    interest_method: InterestMethod
    amortization: Amortization
    grace_periods_principal: int
    upfront_fee_percent: Decimal
    upfront_fee_amount: Decimal
    late_penalty_percent: Decimal
    penalty_grace_days: int
    approval_limit: Decimal
    max_debt_to_income_percent: Decimal
    credit_check_mandatory: bool

    def __init__(
        self,
        *,
        code: str,
        name: str,
        currency: str = CURRENCY,
        principal_min: AmountInput,
        principal_max: AmountInput,
        term_min: int,
        term_max: int,
        repayment_frequency: RepaymentFrequency | str,
        annual_interest_rate_percent: AmountInput,
        interest_method: InterestMethod | str,
        amortization: Amortization | str = Amortization.EQUAL_INSTALLMENTS,
        grace_periods_principal: int = 0,
        upfront_fee_percent: AmountInput = 0,
        upfront_fee_amount: AmountInput = 0,
        late_penalty_percent: AmountInput = 0,
        penalty_grace_days: int = 0,
        approval_limit: AmountInput,
        max_debt_to_income_percent: AmountInput,
        credit_check_mandatory: bool = True,
    ) -> None:
        values: dict[str, Any] = {
            "code": require_text(code, field="code"),
            "name": require_text(name, field="name"),
        }
        if currency not in SUPPORTED_CURRENCIES:
            raise ValidationError(
                f"currency must be one of {', '.join(sorted(SUPPORTED_CURRENCIES))}",
                field="currency",
                rule="currency",
                choices=sorted(SUPPORTED_CURRENCIES),
            )
        values["currency"] = currency
        low = coerce_amount(principal_min, field="principal_min", allow_zero=False)
        high = coerce_amount(principal_max, field="principal_max", allow_zero=False)
        if high < low:
            raise ValidationError(
                "principal_max must not be below principal_min",
                field="principal_max",
                rule="not_below_principal_min",
                principal_min=str(low),
            )
        values["principal_min"], values["principal_max"] = low, high
        shortest = coerce_count(term_min, field="term_min", minimum=1, maximum=MAX_TERM_IN_PERIODS)
        longest = coerce_count(term_max, field="term_max", minimum=1, maximum=MAX_TERM_IN_PERIODS)
        if longest < shortest:
            raise ValidationError(
                "term_max must not be below term_min", field="term_max", rule="not_below_term_min", term_min=shortest
            )
        values["term_min"], values["term_max"] = shortest, longest
        values["repayment_frequency"] = coerce_enum(
            repayment_frequency, RepaymentFrequency, field="repayment_frequency"
        )
        values["annual_interest_rate_percent"] = coerce_percent(
            annual_interest_rate_percent,
            field="annual_interest_rate_percent",
            maximum=MAX_ANNUAL_INTEREST_RATE_PERCENT,
        )
        method = coerce_enum(interest_method, InterestMethod, field="interest_method")
        amort = coerce_enum(amortization, Amortization, field="amortization")
        values["interest_method"] = method
        values["amortization"] = Amortization.EQUAL_PRINCIPAL if method is InterestMethod.FLAT else amort
        grace = coerce_count(
            grace_periods_principal, field="grace_periods_principal", minimum=0, maximum=MAX_TERM_IN_PERIODS
        )
        if grace >= shortest:
            raise ValidationError(
                "grace_periods_principal must be less than term_min",
                field="grace_periods_principal",
                rule="less_than_term_min",
                term_min=shortest,
            )
        values["grace_periods_principal"] = grace
        fee_percent = coerce_percent(upfront_fee_percent, field="upfront_fee_percent", maximum=HUNDRED)
        fee_amount = coerce_amount(upfront_fee_amount, field="upfront_fee_amount", allow_zero=True)
        # The fee is deducted at disbursement, so it must leave something to disburse on the smallest loan.
        # Checked on principal_min here; LoanTerms checks it again for each loan's principal.
        smallest_fees = upfront_fees_for(principal=low, percent=fee_percent, amount=fee_amount)
        if smallest_fees >= low:
            raise ValidationError(
                "up-front fees must be less than principal_min",
                field="upfront_fees",
                rule="less_than_principal",
                upfront_fees=str(smallest_fees),
                principal_min=str(low),
            )
        values["upfront_fee_percent"], values["upfront_fee_amount"] = fee_percent, fee_amount
        values["late_penalty_percent"] = coerce_percent(
            late_penalty_percent, field="late_penalty_percent", maximum=HUNDRED
        )
        values["penalty_grace_days"] = coerce_count(
            penalty_grace_days, field="penalty_grace_days", minimum=0, maximum=366
        )
        values["approval_limit"] = coerce_amount(approval_limit, field="approval_limit", allow_zero=False)
        dti = coerce_percent(max_debt_to_income_percent, field="max_debt_to_income_percent", maximum=HUNDRED)
        if dti == 0:
            raise ValidationError(
                "max_debt_to_income_percent must be greater than 0",
                field="max_debt_to_income_percent",
                rule="min_value",
                min="0",
            )
        values["max_debt_to_income_percent"] = dti
        if not isinstance(credit_check_mandatory, bool):
            raise ValidationError(
                "credit_check_mandatory must be true or false", field="credit_check_mandatory", rule="boolean"
            )
        values["credit_check_mandatory"] = credit_check_mandatory
        for name_, value in values.items():
            object.__setattr__(self, name_, value)

    @property
    def max_debt_to_income_ratio(self) -> Decimal:
        """``max_debt_to_income_percent`` as a fraction (40 % → 0.4)."""
        return self.max_debt_to_income_percent / HUNDRED

    def requires_admin_approval(self, *, principal: AmountInput) -> bool:
        """Whether only an ``mfi_admin`` may approve this principal (it is above the approval limit)."""
        amount = coerce_amount(principal, field="principal", allow_zero=False)
        return amount > self.approval_limit

    def late_penalty_for(self, *, installment_due: Decimal) -> Decimal:
        """The one-off late penalty on an overdue installment amount, half-up to the cent."""
        return round_cent(installment_due * self.late_penalty_percent / HUNDRED)

    def terms_for(
        self,
        *,
        principal: AmountInput,
        term_in_periods: int,
        disbursement_date: date,
        first_repayment_date: date | None = None,
    ) -> LoanTerms:
        """The ``LoanTerms`` of a loan of ``principal`` over ``term_in_periods`` on this product.

        Raises ``PrincipalOutOfRange`` / ``TermOutOfRange`` (both ``ValidationError``; field
        ``principal`` / ``term_in_periods``, rule ``min_value`` or ``max_value``, ``min`` and ``max``
        in details) when outside the product's range, and ``ValidationError`` for anything
        ``LoanTerms`` refuses (e.g. ``first_repayment_date`` not after ``disbursement_date``).
        """
        amount = coerce_amount(principal, field="principal", allow_zero=False)
        if amount < self.principal_min or amount > self.principal_max:
            below = amount < self.principal_min
            raise PrincipalOutOfRange(
                f"principal must be between {self.principal_min} and {self.principal_max}",
                field="principal",
                rule="min_value" if below else "max_value",
                min=str(self.principal_min),
                max=str(self.principal_max),
            )
        term = coerce_count(term_in_periods, field="term_in_periods", minimum=1, maximum=MAX_TERM_IN_PERIODS)
        if term < self.term_min or term > self.term_max:
            raise TermOutOfRange(
                f"term_in_periods must be between {self.term_min} and {self.term_max}",
                field="term_in_periods",
                rule="min_value" if term < self.term_min else "max_value",
                min=self.term_min,
                max=self.term_max,
            )
        return LoanTerms(
            principal=amount,
            annual_interest_rate_percent=self.annual_interest_rate_percent,
            term_in_periods=term,
            repayment_frequency=self.repayment_frequency,
            interest_method=self.interest_method,
            amortization=self.amortization,
            disbursement_date=disbursement_date,
            first_repayment_date=first_repayment_date,
            grace_periods_principal=self.grace_periods_principal,
            upfront_fee_percent=self.upfront_fee_percent,
            upfront_fee_amount=self.upfront_fee_amount,
        )
