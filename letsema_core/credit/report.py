"""The cross-MFI credit report, its stacking flags, the scorecard and the application assessment.

All pure functions of a ``CreditFile`` and an ``as_of`` time (DOMAIN.md "Credit registry").

Windows:
- "inquiries in the last N days" counts inquiries with ``as_of − N days < at ≤ as_of``, by distinct MFI;
  the pull that builds the report is not among them (it is recorded after the file is read).
- "in 24 months" means the 24 calendar months ending with ``as_of``'s month (the registry keeps DPD per
  month) and, for write-offs, a write-off date on or after the same day 24 months earlier.

Flags (thresholds per tenant in ``StackingRules``; each fires AT its threshold):
- ``ACTIVE_LOANS_ELSEWHERE``: active accounts at MFIs other than the inquiring one ≥ 2;
- ``INQUIRY_VELOCITY``: distinct MFIs that inquired in the last 30 days ≥ 3;
- ``DEFAULT_HISTORY``: a write-off, or a worst DPD ≥ 90, in 24 months;
- ``OVER_INDEBTED`` (assessment only): monthly installments of active accounts plus the new loan's
  > max debt-to-income ratio × monthly income.

Scorecard (transparent points; a report carries it, an assessment re-scores with the DTI): start at
600, then subtract, each reason once, with its code:
- ``R01_DELINQUENCY`` −40 if the worst DPD in 24 months is 1–30, −100 if 31–89;
- ``R02_SEVERE_DELINQUENCY`` −250 on a write-off or DPD ≥ 90 in 24 months (replaces R01);
- ``R03_CURRENT_ARREARS`` −50 if an active account is past due now;
- ``R04_MULTIPLE_ACTIVE_LOANS`` −60 when ACTIVE_LOANS_ELSEWHERE fires;
- ``R05_INQUIRY_VELOCITY`` −40 when INQUIRY_VELOCITY fires;
- ``R06_HIGH_DEBT_TO_INCOME`` −80 when OVER_INDEBTED fires (assessment only);
- ``R07_THIN_FILE`` −20 when the borrower has no account at all;
and add 20 per account closed without ever passing 30 DPD, at most +60. Clamped to 300–850.
Bands: ≥ 600 low risk, 500–599 medium, < 500 high.

Recommendation: ``decline`` with DEFAULT_HISTORY or OVER_INDEBTED or a score < 450; ``review`` with any
other flag, an open dispute or a score < 550; otherwise ``approve``. Officers decide; this advises.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final

from letsema_core.credit.registry import CreditAccount, CreditAccountStatus, CreditDispute, CreditFile, DisputeStatus
from letsema_core.errors import ValidationError
from letsema_core.money import to_decimal

DTI_QUANTUM: Final = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class StackingRules:
    """Per-tenant thresholds of the stacking flags; defaults as DOMAIN.md fixes them."""

    active_loans_elsewhere: int = 2
    inquiry_velocity_mfis: int = 3
    inquiry_velocity_days: int = 30
    default_history_dpd: int = 90
    default_history_months: int = 24
    max_debt_to_income_ratio: Decimal = Decimal("0.40")


class FlagCode(StrEnum):
    ACTIVE_LOANS_ELSEWHERE = "ACTIVE_LOANS_ELSEWHERE"
    INQUIRY_VELOCITY = "INQUIRY_VELOCITY"
    OVER_INDEBTED = "OVER_INDEBTED"
    DEFAULT_HISTORY = "DEFAULT_HISTORY"


class ReasonCode(StrEnum):
    R01_DELINQUENCY = "R01_DELINQUENCY"
    R02_SEVERE_DELINQUENCY = "R02_SEVERE_DELINQUENCY"
    R03_CURRENT_ARREARS = "R03_CURRENT_ARREARS"
    R04_MULTIPLE_ACTIVE_LOANS = "R04_MULTIPLE_ACTIVE_LOANS"
    R05_INQUIRY_VELOCITY = "R05_INQUIRY_VELOCITY"
    R06_HIGH_DEBT_TO_INCOME = "R06_HIGH_DEBT_TO_INCOME"
    R07_THIN_FILE = "R07_THIN_FILE"


class Recommendation(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


@dataclass(frozen=True, slots=True)
class CreditFlag:
    code: FlagCode
    reason: str


@dataclass(frozen=True, slots=True)
class Score:
    points: int
    band: str
    reasons: tuple[ReasonCode, ...]


@dataclass(frozen=True, slots=True)
class CreditTotals:
    active_loans: int
    distinct_active_lenders: int
    total_outstanding: Decimal
    total_monthly_installment: Decimal


@dataclass(frozen=True, slots=True)
class CreditReport:
    """A borrower's cross-MFI position as of a time, for the inquiring MFI."""

    country: str
    borrower_key: str
    as_of: datetime
    inquiring_mfi: str
    accounts: tuple[CreditAccount, ...]
    totals: CreditTotals
    active_loans_elsewhere: int
    worst_days_past_due_24m: int
    write_offs: tuple[CreditAccount, ...]
    inquiries_last_7_days: int
    inquiries_last_30_days: int
    inquiries_last_90_days: int
    open_disputes: tuple[CreditDispute, ...]
    flags: tuple[CreditFlag, ...]
    score: Score

    def has_flag(self, code: FlagCode) -> bool:
        return any(f.code is code for f in self.flags)


@dataclass(frozen=True, slots=True)
class CreditAssessment:
    """A recommendation for one application: the report, DTI, all flags and the re-scored card."""

    report: CreditReport
    monthly_income: Decimal
    new_monthly_installment: Decimal
    total_monthly_installments: Decimal
    debt_to_income_ratio: Decimal | None
    max_debt_to_income_ratio: Decimal
    flags: tuple[CreditFlag, ...]
    score: Score
    recommendation: Recommendation
    reasons: tuple[str, ...] = field(default=())

    def has_flag(self, code: FlagCode) -> bool:
        return any(f.code is code for f in self.flags)


def _first_month_of_window(as_of: date, months: int) -> str:
    index = as_of.year * 12 + (as_of.month - 1) - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months_earlier(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) - months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _distinct_inquirers(credit_file: CreditFile, *, as_of: datetime, days: int) -> int:
    start = as_of - timedelta(days=days)
    return len({i.lender_mfi for i in credit_file.inquiries if start < i.at <= as_of})


def score_credit(
    *,
    accounts: Iterable[CreditAccount],
    worst_dpd_24m: int,
    default_in_24m: bool,
    flags: Iterable[CreditFlag],
) -> Score:
    """The scorecard of the module docstring. Reason codes are listed in code order."""
    accounts = tuple(accounts)
    codes = {f.code for f in flags}
    points = 600
    reasons: list[ReasonCode] = []
    if default_in_24m:
        points -= 250
        reasons.append(ReasonCode.R02_SEVERE_DELINQUENCY)
    elif worst_dpd_24m > 30:
        points -= 100
        reasons.append(ReasonCode.R01_DELINQUENCY)
    elif worst_dpd_24m > 0:
        points -= 40
        reasons.append(ReasonCode.R01_DELINQUENCY)
    if any(a.is_active and a.days_past_due > 0 for a in accounts):
        points -= 50
        reasons.append(ReasonCode.R03_CURRENT_ARREARS)
    if FlagCode.ACTIVE_LOANS_ELSEWHERE in codes:
        points -= 60
        reasons.append(ReasonCode.R04_MULTIPLE_ACTIVE_LOANS)
    if FlagCode.INQUIRY_VELOCITY in codes:
        points -= 40
        reasons.append(ReasonCode.R05_INQUIRY_VELOCITY)
    if FlagCode.OVER_INDEBTED in codes:
        points -= 80
        reasons.append(ReasonCode.R06_HIGH_DEBT_TO_INCOME)
    if not accounts:
        points -= 20
        reasons.append(ReasonCode.R07_THIN_FILE)
    good_closures = sum(1 for a in accounts if a.status is CreditAccountStatus.CLOSED and a.worst_days_past_due <= 30)
    points += min(60, 20 * good_closures)
    points = max(300, min(850, points))
    band = "low" if points >= 600 else "medium" if points >= 500 else "high"
    return Score(points=points, band=band, reasons=tuple(sorted(reasons)))


def build_credit_report(
    *,
    credit_file: CreditFile,
    as_of: datetime,
    inquiring_mfi: str,
    rules: StackingRules | None = None,
) -> CreditReport:
    """The report on ``credit_file`` as of ``as_of`` for ``inquiring_mfi`` (rules in the module docstring).

    Raises ``ValidationError`` (``as_of``, ``timezone``) for a naive time.
    """
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValidationError("as_of must carry a timezone", field="as_of", rule="timezone")
    rules = rules or StackingRules()
    day = as_of.date()
    accounts = credit_file.accounts
    active = [a for a in accounts if a.is_active]
    totals = CreditTotals(
        active_loans=len(active),
        distinct_active_lenders=len({a.lender_mfi for a in active}),
        total_outstanding=sum((a.outstanding_balance for a in active), Decimal("0.00")),
        total_monthly_installment=sum((a.monthly_installment for a in active), Decimal("0.00")),
    )
    elsewhere = sum(1 for a in active if a.lender_mfi != inquiring_mfi)
    first_month = _first_month_of_window(day, rules.default_history_months)
    worst_24m = max((a.worst_days_past_due_since(first_month) for a in accounts), default=0)
    write_offs = tuple(a for a in accounts if a.written_off_on is not None)
    write_off_since = _months_earlier(day, rules.default_history_months)
    recent_write_off = any(
        a.written_off_on is not None and write_off_since <= a.written_off_on <= day for a in write_offs
    )
    velocity = _distinct_inquirers(credit_file, as_of=as_of, days=rules.inquiry_velocity_days)

    flags: list[CreditFlag] = []
    if elsewhere >= rules.active_loans_elsewhere:
        flags.append(CreditFlag(FlagCode.ACTIVE_LOANS_ELSEWHERE, f"{elsewhere} active loans at other MFIs"))
    if velocity >= rules.inquiry_velocity_mfis:
        flags.append(
            CreditFlag(
                FlagCode.INQUIRY_VELOCITY,
                f"inquiries from {velocity} MFIs in {rules.inquiry_velocity_days} days",
            )
        )
    default_in_window = recent_write_off or worst_24m >= rules.default_history_dpd
    if default_in_window:
        reason = (
            f"write-off in the last {rules.default_history_months} months"
            if recent_write_off
            else f"{worst_24m} days past due in the last {rules.default_history_months} months"
        )
        flags.append(CreditFlag(FlagCode.DEFAULT_HISTORY, reason))

    return CreditReport(
        country=credit_file.country,
        borrower_key=credit_file.borrower_key,
        as_of=as_of,
        inquiring_mfi=inquiring_mfi,
        accounts=accounts,
        totals=totals,
        active_loans_elsewhere=elsewhere,
        worst_days_past_due_24m=worst_24m,
        write_offs=write_offs,
        inquiries_last_7_days=_distinct_inquirers(credit_file, as_of=as_of, days=7),
        inquiries_last_30_days=_distinct_inquirers(credit_file, as_of=as_of, days=30),
        inquiries_last_90_days=_distinct_inquirers(credit_file, as_of=as_of, days=90),
        open_disputes=tuple(d for d in credit_file.disputes if d.status is DisputeStatus.OPEN),
        flags=tuple(flags),
        score=score_credit(accounts=accounts, worst_dpd_24m=worst_24m, default_in_24m=default_in_window, flags=flags),
    )


def assess_application(
    *,
    report: CreditReport,
    monthly_income: Decimal | int | str,
    new_monthly_installment: Decimal | int | str,
    max_debt_to_income_ratio: Decimal | int | str | None = None,
    rules: StackingRules | None = None,
) -> CreditAssessment:
    """Assess a new loan against the report: DTI, OVER_INDEBTED, the re-scored card and a recommendation.

    ``new_monthly_installment`` is the new loan's installment per month (see
    ``credit.registry.monthly_equivalent``); ``max_debt_to_income_ratio`` is the product's (a fraction,
    e.g. ``0.40``), falling back to the rules'. The DTI is (active accounts' monthly installments + new)
    ÷ income, shown to 4 decimals; the flag compares exactly, without rounding. With no income the DTI
    is ``None`` and any installment is over-indebted. Raises ``ValidationError`` for negative amounts.
    """
    rules = rules or StackingRules()
    income = to_decimal(monthly_income, field="monthly_income")
    new = to_decimal(new_monthly_installment, field="new_monthly_installment")
    max_dti = to_decimal(
        rules.max_debt_to_income_ratio if max_debt_to_income_ratio is None else max_debt_to_income_ratio,
        field="max_debt_to_income_ratio",
    )
    for name, value in (("monthly_income", income), ("new_monthly_installment", new), ("max_dti", max_dti)):
        if value < 0:
            raise ValidationError(f"{name} cannot be negative", field=name, rule="min_value", limit="0")
    total = report.totals.total_monthly_installment + new
    dti = (total / income).quantize(DTI_QUANTUM) if income > 0 else None
    flags = list(report.flags)
    if total > max_dti * income:
        flags.append(
            CreditFlag(
                FlagCode.OVER_INDEBTED,
                f"monthly installments {total} exceed {max_dti} × income {income}",
            )
        )
    codes = {f.code for f in flags}
    default_in_window = FlagCode.DEFAULT_HISTORY in codes
    score = score_credit(
        accounts=report.accounts,
        worst_dpd_24m=report.worst_days_past_due_24m,
        default_in_24m=default_in_window,
        flags=flags,
    )
    reasons = [f.code.value for f in flags]
    if report.open_disputes:
        reasons.append("OPEN_DISPUTE")
    if default_in_window or FlagCode.OVER_INDEBTED in codes or score.points < 450:
        recommendation = Recommendation.DECLINE
    elif flags or report.open_disputes or score.points < 550:
        recommendation = Recommendation.REVIEW
    else:
        recommendation = Recommendation.APPROVE
    return CreditAssessment(
        report=report,
        monthly_income=income,
        new_monthly_installment=new,
        total_monthly_installments=total,
        debt_to_income_ratio=dti,
        max_debt_to_income_ratio=max_dti,
        flags=tuple(flags),
        score=score,
        recommendation=recommendation,
        reasons=tuple(reasons),
    )
