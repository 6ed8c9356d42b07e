"""Portfolio metrics: pure functions over simple loan records.

The API computes the same figures in SQL; these functions are the reference
its tests compare against. PAR is by balance (DOMAIN.md): the *whole*
outstanding principal of every loan more than N days past due, divided by the
total outstanding principal — not the overdue amounts. Only active loans carry
outstanding principal; closed and written-off loans count for nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letsema_core.errors import ValidationError
from letsema_core.loans.arrears import BUCKET_UPPER_BOUNDS, ArrearsBucket, arrears_bucket
from letsema_core.loans.loan import Loan, LoanStatus, TransactionType
from letsema_core.money import round_cent

_ZERO = Decimal("0.00")
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class LoanPosition:
    """One loan as the portfolio sees it on a date."""

    loan_id: str
    principal: Decimal
    outstanding_principal: Decimal
    days_past_due: int
    status: LoanStatus
    disbursed_on: date
    officer_id: str | None = None
    branch_id: str | None = None


@dataclass(frozen=True, slots=True)
class Collection:
    """Money received on one loan on one date (a reversal is a negative amount on its own date)."""

    loan_id: str
    on: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PortfolioAtRisk:
    """PAR over ``days``: at-risk and total outstanding principal, the ratio and the percent (0.01)."""

    days: int
    at_risk: Decimal
    total_outstanding: Decimal
    ratio: Decimal
    percent: Decimal


@dataclass(frozen=True, slots=True)
class AgeingRow:
    bucket: ArrearsBucket
    count: int
    outstanding_principal: Decimal


@dataclass(frozen=True, slots=True)
class PeriodTotal:
    count: int
    amount: Decimal


def position_of(
    loan: Loan, *, as_of: date, officer_id: str | None = None, branch_id: str | None = None
) -> LoanPosition:
    """A ``LoanPosition`` from a ``Loan`` with DPD as of ``as_of``."""
    return LoanPosition(
        loan_id=loan.loan_id,
        principal=loan.principal,
        outstanding_principal=loan.outstanding_principal,
        days_past_due=loan.days_past_due_on(as_of=as_of),
        status=loan.status,
        disbursed_on=loan.disbursed_on,
        officer_id=officer_id,
        branch_id=branch_id,
    )


def collections_of(loan: Loan) -> tuple[Collection, ...]:
    """The loan's repayments as collections; reversals as negative amounts on the reversal date."""
    out: list[Collection] = []
    for t in loan.transactions:
        if t.kind is TransactionType.REPAYMENT:
            out.append(Collection(loan.loan_id, t.on, t.amount))
        elif t.kind is TransactionType.REPAYMENT_REVERSAL:
            out.append(Collection(loan.loan_id, t.on, -t.amount))
    return tuple(out)


def _active(positions: Iterable[LoanPosition]) -> list[LoanPosition]:
    return [p for p in positions if p.status is LoanStatus.ACTIVE]


def outstanding_principal(positions: Iterable[LoanPosition]) -> Decimal:
    """Total outstanding principal of the active loans."""
    return sum((p.outstanding_principal for p in _active(positions)), _ZERO)


def portfolio_at_risk(positions: Iterable[LoanPosition], *, days: int) -> PortfolioAtRisk:
    """PAR``days``: outstanding principal of active loans with DPD > ``days`` ÷ all outstanding principal.

    An empty portfolio has PAR 0. ``percent`` is the ratio × 100 rounded
    half-up to 0.01. Raises ``ValidationError`` for a negative ``days``.
    """
    if days < 0:
        raise ValidationError("days cannot be negative", field="days", rule="non_negative")
    active = _active(positions)
    total = sum((p.outstanding_principal for p in active), _ZERO)
    at_risk = sum((p.outstanding_principal for p in active if p.days_past_due > days), _ZERO)
    ratio = at_risk / total if total else Decimal(0)
    return PortfolioAtRisk(
        days=days, at_risk=at_risk, total_outstanding=total, ratio=ratio, percent=round_cent(ratio * _HUNDRED)
    )


def par30(positions: Iterable[LoanPosition]) -> PortfolioAtRisk:
    return portfolio_at_risk(positions, days=30)


def par90(positions: Iterable[LoanPosition]) -> PortfolioAtRisk:
    return portfolio_at_risk(positions, days=90)


def ageing(positions: Iterable[LoanPosition]) -> tuple[AgeingRow, ...]:
    """Count and outstanding principal of active loans per arrears bucket, every bucket listed in order."""
    counts = {bucket: 0 for bucket, _ in BUCKET_UPPER_BOUNDS}
    amounts = {bucket: _ZERO for bucket, _ in BUCKET_UPPER_BOUNDS}
    for p in _active(positions):
        bucket = arrears_bucket(days_past_due=p.days_past_due)
        counts[bucket] += 1
        amounts[bucket] += p.outstanding_principal
    return tuple(AgeingRow(bucket, counts[bucket], amounts[bucket]) for bucket, _ in BUCKET_UPPER_BOUNDS)


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationError("the period ends before it starts", field="end", rule="not_before_start")


def disbursed_in_period(positions: Iterable[LoanPosition], *, start: date, end: date) -> PeriodTotal:
    """Loans (any status) disbursed from ``start`` to ``end`` inclusive: count and principal."""
    _check_period(start, end)
    chosen = [p for p in positions if start <= p.disbursed_on <= end]
    return PeriodTotal(len(chosen), sum((p.principal for p in chosen), _ZERO))


def collected_in_period(collections: Iterable[Collection], *, start: date, end: date) -> PeriodTotal:
    """Collections dated ``start`` to ``end`` inclusive: count of receipts and net amount (reversals subtract)."""
    _check_period(start, end)
    chosen = [c for c in collections if start <= c.on <= end]
    return PeriodTotal(sum(1 for c in chosen if c.amount > 0), sum((c.amount for c in chosen), _ZERO))
