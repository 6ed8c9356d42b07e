"""Small schedule builders for tests of code built on loans (not for production use).

``level_schedule`` builds a schedule by hand, independent of the schedule
generator, so loan tests pin their own numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from letsema_core.money import to_decimal
from letsema_core.schedules.types import Installment, RepaymentSchedule

_ZERO = Decimal("0.00")


def schedule_from_rows(
    *,
    rows: Sequence[tuple[date, str | Decimal, str | Decimal, str | Decimal]],
    upfront_fees: str | Decimal = _ZERO,
) -> RepaymentSchedule:
    """A schedule from ``(due_date, principal, interest, fees)`` rows; the principal is their sum."""
    principal = sum((to_decimal(r[1]) for r in rows), _ZERO)
    balance = principal
    installments: list[Installment] = []
    for number, (due, pri, intr, fee) in enumerate(rows, start=1):
        p, i, f = to_decimal(pri), to_decimal(intr), to_decimal(fee)
        balance -= p
        installments.append(Installment(number, due, p, i, f, _ZERO, p + i + f, balance))
    return RepaymentSchedule(
        installments=tuple(installments), principal=principal, upfront_fees=to_decimal(upfront_fees)
    )


def level_schedule(
    *,
    first_due: date,
    periods: int,
    principal_each: str | Decimal,
    interest_each: str | Decimal,
    fees_each: str | Decimal = _ZERO,
    period_days: int = 30,
    upfront_fees: str | Decimal = _ZERO,
) -> RepaymentSchedule:
    """``periods`` equal installments ``period_days`` apart starting on ``first_due``."""
    rows = [
        (
            first_due + timedelta(days=period_days * k),
            to_decimal(principal_each),
            to_decimal(interest_each),
            to_decimal(fees_each),
        )
        for k in range(periods)
    ]
    return schedule_from_rows(rows=rows, upfront_fees=upfront_fees)
