"""JSON-safe forms of credit reports and assessments (money as strings, times ISO 8601).

The API returns them and the tenant database stores an application's assessments as JSON; the
``*_from_dict`` functions rebuild equal values, so ``ApplicationRepository`` adapters round-trip them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from letsema_core.credit.registry import (
    CreditAccount,
    CreditAccountStatus,
    CreditDispute,
    DisputeStatus,
)
from letsema_core.credit.report import (
    CreditAssessment,
    CreditFlag,
    CreditReport,
    CreditTotals,
    FlagCode,
    ReasonCode,
    Recommendation,
    Score,
)


def _opt_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _opt_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def account_to_dict(account: CreditAccount) -> dict[str, Any]:
    return {
        "country": account.country,
        "borrower_key": account.borrower_key,
        "lender_mfi": account.lender_mfi,
        "loan_ref": account.loan_ref,
        "opened_on": account.opened_on.isoformat(),
        "principal": str(account.principal),
        "outstanding_balance": str(account.outstanding_balance),
        "installment_amount": str(account.installment_amount),
        "monthly_installment": str(account.monthly_installment),
        "repayment_frequency": account.repayment_frequency,
        "status": account.status.value,
        "days_past_due": account.days_past_due,
        "worst_days_past_due": account.worst_days_past_due,
        "dpd_by_month": [[month, dpd] for month, dpd in account.dpd_by_month],
        "last_sequence": account.last_sequence,
        "last_updated_on": account.last_updated_on.isoformat(),
        "written_off_on": _opt_date(account.written_off_on),
    }


def account_from_dict(data: Mapping[str, Any]) -> CreditAccount:
    return CreditAccount(
        country=data["country"],
        borrower_key=data["borrower_key"],
        lender_mfi=data["lender_mfi"],
        loan_ref=data["loan_ref"],
        opened_on=date.fromisoformat(data["opened_on"]),
        principal=Decimal(data["principal"]),
        outstanding_balance=Decimal(data["outstanding_balance"]),
        installment_amount=Decimal(data["installment_amount"]),
        repayment_frequency=data["repayment_frequency"],
        status=CreditAccountStatus(data["status"]),
        days_past_due=int(data["days_past_due"]),
        worst_days_past_due=int(data["worst_days_past_due"]),
        dpd_by_month=tuple((str(month), int(dpd)) for month, dpd in data["dpd_by_month"]),
        last_sequence=int(data["last_sequence"]),
        last_updated_on=date.fromisoformat(data["last_updated_on"]),
        written_off_on=None if data["written_off_on"] is None else date.fromisoformat(data["written_off_on"]),
    )


def dispute_to_dict(dispute: CreditDispute) -> dict[str, Any]:
    return {
        "dispute_id": dispute.dispute_id,
        "country": dispute.country,
        "borrower_key": dispute.borrower_key,
        "lender_mfi": dispute.lender_mfi,
        "loan_ref": dispute.loan_ref,
        "reason": dispute.reason,
        "opened_at": dispute.opened_at.isoformat(),
        "status": dispute.status.value,
        "resolved_at": _opt_datetime(dispute.resolved_at),
        "resolution": dispute.resolution,
    }


def dispute_from_dict(data: Mapping[str, Any]) -> CreditDispute:
    return CreditDispute(
        dispute_id=data["dispute_id"],
        country=data["country"],
        borrower_key=data["borrower_key"],
        lender_mfi=data["lender_mfi"],
        loan_ref=data["loan_ref"],
        reason=data["reason"],
        opened_at=datetime.fromisoformat(data["opened_at"]),
        status=DisputeStatus(data["status"]),
        resolved_at=None if data["resolved_at"] is None else datetime.fromisoformat(data["resolved_at"]),
        resolution=data["resolution"],
    )


def _flags_to_list(flags: tuple[CreditFlag, ...]) -> list[dict[str, str]]:
    return [{"code": f.code.value, "reason": f.reason} for f in flags]


def _flags_from_list(items: list[Mapping[str, str]]) -> tuple[CreditFlag, ...]:
    return tuple(CreditFlag(FlagCode(item["code"]), item["reason"]) for item in items)


def _score_to_dict(score: Score) -> dict[str, Any]:
    return {"points": score.points, "band": score.band, "reasons": [r.value for r in score.reasons]}


def _score_from_dict(data: Mapping[str, Any]) -> Score:
    return Score(points=int(data["points"]), band=data["band"], reasons=tuple(ReasonCode(r) for r in data["reasons"]))


def report_to_dict(report: CreditReport) -> dict[str, Any]:
    """The report as JSON-safe values."""
    return {
        "country": report.country,
        "borrower_key": report.borrower_key,
        "as_of": report.as_of.isoformat(),
        "inquiring_mfi": report.inquiring_mfi,
        "accounts": [account_to_dict(a) for a in report.accounts],
        "totals": {
            "active_loans": report.totals.active_loans,
            "distinct_active_lenders": report.totals.distinct_active_lenders,
            "total_outstanding": str(report.totals.total_outstanding),
            "total_monthly_installment": str(report.totals.total_monthly_installment),
        },
        "active_loans_elsewhere": report.active_loans_elsewhere,
        "worst_days_past_due_24m": report.worst_days_past_due_24m,
        "write_offs": [account_to_dict(a) for a in report.write_offs],
        "inquiries_last_7_days": report.inquiries_last_7_days,
        "inquiries_last_30_days": report.inquiries_last_30_days,
        "inquiries_last_90_days": report.inquiries_last_90_days,
        "open_disputes": [dispute_to_dict(d) for d in report.open_disputes],
        "flags": _flags_to_list(report.flags),
        "score": _score_to_dict(report.score),
    }


def report_from_dict(data: Mapping[str, Any]) -> CreditReport:
    """Rebuild a report from ``report_to_dict`` output."""
    totals = data["totals"]
    return CreditReport(
        country=data["country"],
        borrower_key=data["borrower_key"],
        as_of=datetime.fromisoformat(data["as_of"]),
        inquiring_mfi=data["inquiring_mfi"],
        accounts=tuple(account_from_dict(a) for a in data["accounts"]),
        totals=CreditTotals(
            active_loans=int(totals["active_loans"]),
            distinct_active_lenders=int(totals["distinct_active_lenders"]),
            total_outstanding=Decimal(totals["total_outstanding"]),
            total_monthly_installment=Decimal(totals["total_monthly_installment"]),
        ),
        active_loans_elsewhere=int(data["active_loans_elsewhere"]),
        worst_days_past_due_24m=int(data["worst_days_past_due_24m"]),
        write_offs=tuple(account_from_dict(a) for a in data["write_offs"]),
        inquiries_last_7_days=int(data["inquiries_last_7_days"]),
        inquiries_last_30_days=int(data["inquiries_last_30_days"]),
        inquiries_last_90_days=int(data["inquiries_last_90_days"]),
        open_disputes=tuple(dispute_from_dict(d) for d in data["open_disputes"]),
        flags=_flags_from_list(data["flags"]),
        score=_score_from_dict(data["score"]),
    )


def assessment_to_dict(assessment: CreditAssessment) -> dict[str, Any]:
    """The assessment (with its report) as JSON-safe values."""
    dti = assessment.debt_to_income_ratio
    return {
        "report": report_to_dict(assessment.report),
        "monthly_income": str(assessment.monthly_income),
        "new_monthly_installment": str(assessment.new_monthly_installment),
        "total_monthly_installments": str(assessment.total_monthly_installments),
        "debt_to_income_ratio": None if dti is None else str(dti),
        "max_debt_to_income_ratio": str(assessment.max_debt_to_income_ratio),
        "flags": _flags_to_list(assessment.flags),
        "score": _score_to_dict(assessment.score),
        "recommendation": assessment.recommendation.value,
        "reasons": list(assessment.reasons),
    }


def assessment_from_dict(data: Mapping[str, Any]) -> CreditAssessment:
    """Rebuild an assessment from ``assessment_to_dict`` output."""
    dti = data["debt_to_income_ratio"]
    return CreditAssessment(
        report=report_from_dict(data["report"]),
        monthly_income=Decimal(data["monthly_income"]),
        new_monthly_installment=Decimal(data["new_monthly_installment"]),
        total_monthly_installments=Decimal(data["total_monthly_installments"]),
        debt_to_income_ratio=None if dti is None else Decimal(dti),
        max_debt_to_income_ratio=Decimal(data["max_debt_to_income_ratio"]),
        flags=_flags_from_list(data["flags"]),
        score=_score_from_dict(data["score"]),
        recommendation=Recommendation(data["recommendation"]),
        reasons=tuple(data["reasons"]),
    )
