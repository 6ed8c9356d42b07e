"""The Key Fact Statement a borrower sees before applying (DOMAIN.md "Key Fact Statement").

Financial Consumer Protection (Disclosure of Credit Information) Regulations 2023: principal,
net amount disbursed, number and amount of installments, total interest, total fees, total cost
of credit, total repayable and the effective annual rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from typing import Final

from letsema_core.money import ROUNDING
from letsema_core.schedules.generate import generate_schedule
from letsema_core.schedules.terms import LoanTerms, RepaymentFrequency
from letsema_core.schedules.types import Installment, RepaymentSchedule

RATE_PLACES: Final = Decimal("0.01")
# The IRR is solved to far below what moves the effective rate's second decimal.
_IRR_PRECISION: Final = 50
_IRR_TOLERANCE: Final = Decimal("1e-30")
_MAX_ITERATIONS: Final = 400


@dataclass(frozen=True, slots=True)
class KeyFactStatement:
    """Every figure the disclosure regulations require, in LSL, with the schedule behind them.

    ``installment_amount`` is the regular installment: the total due of the first installment that
    repays principal (the first after any principal grace periods). With equal installments only
    the last differs (by the rounding residue); with equal principal it is the largest paying one.
    ``total_repayable`` is what the borrower pays back over the installments (principal + interest):
    the up-front fee is deducted from the disbursement, so it is part of ``total_cost_of_credit``
    but not repaid again. ``effective_annual_rate_percent`` = ((1+i)^ppy − 1)·100, half-up to 0.01,
    where i is the per-period IRR of [−net_disbursed, installment₁, …, installmentₙ] with
    installments taken one period apart.
    """

    principal: Decimal
    net_disbursed: Decimal
    installment_count: int
    installment_amount: Decimal
    total_interest: Decimal
    total_fees: Decimal
    total_cost_of_credit: Decimal
    total_repayable: Decimal
    effective_annual_rate_percent: Decimal
    nominal_annual_rate_percent: Decimal
    repayment_frequency: RepaymentFrequency
    first_due_date: date
    last_due_date: date
    installments: tuple[Installment, ...]


def key_fact_statement(terms: LoanTerms) -> KeyFactStatement:
    """The Key Fact Statement for ``terms`` (generates the schedule). Raises nothing for valid terms."""
    schedule = generate_schedule(terms)
    return key_fact_statement_for(terms=terms, schedule=schedule)


def key_fact_statement_for(*, terms: LoanTerms, schedule: RepaymentSchedule) -> KeyFactStatement:
    """The Key Fact Statement of an already generated ``schedule`` for ``terms``."""
    installments = schedule.installments
    total_interest = schedule.total_interest
    total_fees = schedule.upfront_fees + schedule.total_fees
    net_disbursed = terms.net_disbursed
    amounts = [row.total_due for row in installments]
    per_period = periodic_irr(outlay=net_disbursed, payments=amounts)
    return KeyFactStatement(
        principal=terms.principal,
        net_disbursed=net_disbursed,
        installment_count=len(installments),
        installment_amount=installments[terms.grace_periods_principal].total_due,
        total_interest=total_interest,
        total_fees=total_fees,
        total_cost_of_credit=total_interest + total_fees,
        total_repayable=schedule.total_due,
        effective_annual_rate_percent=effective_annual_rate_percent(
            periodic_rate=per_period, periods_per_year=terms.periods_per_year
        ),
        nominal_annual_rate_percent=terms.annual_interest_rate_percent,
        repayment_frequency=terms.repayment_frequency,
        first_due_date=installments[0].due_date,
        last_due_date=installments[-1].due_date,
        installments=installments,
    )


def effective_annual_rate_percent(*, periodic_rate: Decimal, periods_per_year: int) -> Decimal:
    """((1 + i)^ppy − 1)·100, rounded half-up to 0.01."""
    with localcontext() as ctx:
        ctx.prec = _IRR_PRECISION
        rate = ((1 + periodic_rate) ** periods_per_year - 1) * 100
        # An absurd but valid product (1000 % a year, weekly, a 99 % fee) has an effective rate with more
        # integer digits than the working precision, which quantize would refuse (InvalidOperation).
        ctx.prec = max(_IRR_PRECISION, rate.adjusted() + 3)
        return rate.quantize(RATE_PLACES, ROUNDING)


def periodic_irr(*, outlay: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The per-period internal rate of return i ≥ 0 with outlay = Σ paymentₖ / (1+i)^k, k = 1..n.

    Solved in Decimal (50 digits) by Newton's method from a point below the root, until its step is
    under 1e-30, safeguarded by bisection on a bracket that always holds the root. The net present
    value is convex and decreasing in i when the payments are non-negative, so the root is unique.
    Raises ``ValueError`` when the payments do not cover the outlay (no non-negative rate exists) or
    the outlay is not positive.
    """
    with localcontext() as ctx:
        ctx.prec = _IRR_PRECISION
        if outlay <= 0:
            raise ValueError("the outlay must be positive")
        if any(p < 0 for p in payments):
            raise ValueError("payments must be non-negative")
        total = sum(payments, Decimal(0))
        if total < outlay:
            raise ValueError("the payments do not repay the outlay")
        if total == outlay:
            return Decimal(0)
        low = Decimal(0)
        high = Decimal(1)
        while _npv(high, outlay, payments)[0] > 0:
            low, high = high, high * 2
        rate = low
        for _ in range(_MAX_ITERATIONS):
            value, slope = _npv(rate, outlay, payments)  # slope < 0: the payments add up to more than 0
            if value > 0:
                low = rate
            else:
                high = rate
            step = value / slope
            # Converged: stop on Newton's own step. (Testing the bracket first sent a root reached from
            # the left, where ``high`` had never moved, off to the bracket's midpoint and ~100 bisections.)
            if abs(step) < _IRR_TOLERANCE:
                return rate - step
            # Inside a bracket narrower than the tolerance, Newton's step is below it too: no width test.
            rate = _newton_or_bisect(candidate=rate - step, low=low, high=high)
        return rate  # pragma: no cover - Newton converges in a handful of steps; the bracket bounds the error


def _newton_or_bisect(*, candidate: Decimal, low: Decimal, high: Decimal) -> Decimal:
    """Newton's ``candidate`` when it lies inside the bracket (low, high) that holds the root, else the
    bracket's midpoint (a rounding overshoot past the root can send Newton's tangent outside it)."""
    return candidate if low < candidate < high else (low + high) / 2


def _npv(rate: Decimal, outlay: Decimal, payments: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """NPV(i) = −outlay + Σ pₖ vᵏ and its derivative −Σ k pₖ vᵏ⁺¹, with v = 1/(1+i) (Horner form)."""
    discount = 1 / (1 + rate)
    value = Decimal(0)
    weighted = Decimal(0)
    # Horner from the last payment: value = v(p₁ + v(p₂ + …)); weighted accumulates Σ k pₖ vᵏ.
    for payment in reversed(payments):
        weighted = (weighted + value) * discount
        value = (value + payment) * discount
    # After the loop: value = Σ pₖ vᵏ and weighted = Σ (k−1) pₖ vᵏ; add value to get Σ k pₖ vᵏ.
    return value - outlay, -(weighted + value) * discount
