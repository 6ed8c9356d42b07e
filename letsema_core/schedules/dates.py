"""Due dates of a schedule (DOMAIN.md "Due dates")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from letsema_core.schedules.terms import RepaymentFrequency

_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_STEP_DAYS: Final = {RepaymentFrequency.WEEKLY: 7, RepaymentFrequency.FORTNIGHTLY: 14}


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def add_months(anchor: date, months: int) -> date:
    """``anchor`` moved by whole months, keeping its day of month clamped to the month's last day.

    ``add_months(date(2025, 1, 31), 1)`` is 2025-02-28; ``add_months(date(2025, 1, 31), 2)`` is 2025-03-31.
    """
    index = anchor.month - 1 + months
    year = anchor.year + index // 12
    month = index % 12 + 1
    return date(year, month, min(anchor.day, _days_in_month(year, month)))


def due_dates(
    *,
    frequency: RepaymentFrequency,
    count: int,
    disbursement_date: date,
    first_repayment_date: date | None,
) -> list[date]:
    """The ``count`` due dates, strictly increasing.

    The first is ``first_repayment_date`` if given, else the disbursement date plus one period.
    Weekly and fortnightly dates step 7 and 14 days from the first. Monthly dates keep the day of
    month of their anchor, clamped to each month's last day and never carried over: the anchor is
    ``first_repayment_date`` when given, else the disbursement date (so a loan disbursed on 31 January
    falls due on 28/29 February, 31 March, 30 April, ...). See docs/domain-notes.md.
    """
    step = _STEP_DAYS.get(frequency)
    if step is not None:
        first = first_repayment_date if first_repayment_date is not None else disbursement_date + timedelta(days=step)
        delta = timedelta(days=step)
        dates = [first]
        for _ in range(count - 1):
            first = first + delta
            dates.append(first)
        return dates
    if first_repayment_date is not None:
        anchor, offset = first_repayment_date, 0
    else:
        anchor, offset = disbursement_date, 1
    # add_months() inlined: this runs once per installment of every schedule generated.
    day = anchor.day
    year = anchor.year
    month = anchor.month - 1 + offset  # zero-based, may exceed 11
    year += month // 12
    month %= 12
    dates = []
    for _ in range(count):
        last_day = _DAYS_IN_MONTH[month] if month != 1 else _days_in_month(year, 2)
        dates.append(date(year, month + 1, day if day <= last_day else last_day))
        if month == 11:
            month = 0
            year += 1
        else:
            month += 1
    return dates
