"""Arrears: days past due, arrears buckets and the late-payment penalty amount.

DOMAIN.md "Arrears and portfolio": days past due (DPD) as of a date = days
since the due date of the oldest installment not fully paid; 0 when nothing is
overdue (an installment is not late on its due date, only from the day after).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum

from letsema_core.errors import ValidationError
from letsema_core.loans.allocation import InstallmentBalance
from letsema_core.money import round_cent

_HUNDRED = Decimal(100)


class ArrearsBucket(StrEnum):
    """The arrears state of an active loan, by days past due."""

    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_91_180 = "91-180"
    DAYS_180_PLUS = "180+"


#: Buckets in ageing order with the largest DPD each holds (None: no upper bound).
BUCKET_UPPER_BOUNDS: tuple[tuple[ArrearsBucket, int | None], ...] = (
    (ArrearsBucket.CURRENT, 0),
    (ArrearsBucket.DAYS_1_30, 30),
    (ArrearsBucket.DAYS_31_60, 60),
    (ArrearsBucket.DAYS_61_90, 90),
    (ArrearsBucket.DAYS_91_180, 180),
    (ArrearsBucket.DAYS_180_PLUS, None),
)


def arrears_bucket(*, days_past_due: int) -> ArrearsBucket:
    """The bucket for a DPD: 0 current, 1-30, 31-60, 61-90, 91-180, 181 and more "180+".

    Raises ``ValidationError`` (rule ``non_negative``) for a negative DPD.
    """
    if days_past_due < 0:
        raise ValidationError("days_past_due cannot be negative", field="days_past_due", rule="non_negative")
    for bucket, upper in BUCKET_UPPER_BOUNDS:
        if upper is None or days_past_due <= upper:
            return bucket
    raise AssertionError("unreachable: the last bucket has no upper bound")  # pragma: no cover


def oldest_unpaid(*, balances: Sequence[InstallmentBalance]) -> InstallmentBalance | None:
    """The oldest installment with anything outstanding, or None when all are paid."""
    for balance in balances:
        if not balance.is_paid:
            return balance
    return None


def days_past_due(*, balances: Sequence[InstallmentBalance], as_of: date) -> int:
    """Days since the due date of the oldest installment not fully paid (0 if none is overdue)."""
    oldest = oldest_unpaid(balances=balances)
    if oldest is None or oldest.due_date >= as_of:
        return 0
    return (as_of - oldest.due_date).days


def late_penalty_amount(*, outstanding: Decimal, late_penalty_percent: Decimal) -> Decimal:
    """The late-payment penalty on an overdue installment, half-up to the cent.

    ``outstanding`` is the installment's *outstanding* principal + interest +
    fees when the penalty is charged (not its original total, and never
    penalties on penalties): a borrower who paid most of an installment is
    penalised on what is still late.
    """
    return round_cent(outstanding * late_penalty_percent / _HUNDRED)


def penalty_is_due(*, due_date: date, as_of: date, penalty_grace_days: int) -> bool:
    """True once an installment is more than ``penalty_grace_days`` days late on ``as_of``."""
    return (as_of - due_date).days > penalty_grace_days
