"""The cross-MFI credit report, stacking flags at their thresholds, the scorecard and the assessment."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.credit import (
    CreditFile,
    CreditReport,
    FlagCode,
    ReasonCode,
    Recommendation,
    StackingRules,
    assess_application,
    assessment_from_dict,
    assessment_to_dict,
    build_credit_report,
    report_from_dict,
    report_to_dict,
)
from letsema_core.errors import ValidationError
from letsema_core.testing import InMemoryCreditRegistry
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)
from tests.contracts.credit_registry import KEY, account_event, dispute, inquiry

pytestmark = pytest.mark.unit

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
INQUIRER = "letsema-mfi"


def credit_file(*events: dict[str, Any], inquiries: tuple[tuple[str, datetime], ...] = ()) -> CreditFile:
    registry = InMemoryCreditRegistry()
    for n, overrides in enumerate(events):
        registry.record_account_event(account_event(**{"loan_ref": f"L-{n}", **overrides}))
    for n, (mfi, at) in enumerate(inquiries):
        registry.record_inquiry(inquiry(f"I-{n}", at=at, lender_mfi=mfi))
    return registry.credit_file(country="LS", borrower_key=KEY)


def report(*events: dict[str, Any], **kwargs: Any) -> CreditReport:
    inquiries = kwargs.pop("inquiries", ())
    return build_credit_report(
        credit_file=credit_file(*events, inquiries=inquiries), as_of=AS_OF, inquiring_mfi=INQUIRER, **kwargs
    )


def flags(built: CreditReport) -> set[FlagCode]:
    return {f.code for f in built.flags}


class TestReportTotals:
    def test_totals_count_only_active_accounts_to_the_cent(self) -> None:
        built = report(
            {"lender_mfi": "khotso", "outstanding_balance": "9254.40", "installment_amount": "945.60"},
            {
                "lender_mfi": "tsepo",
                "outstanding_balance": "2000.00",
                "installment_amount": "100.00",
                "repayment_frequency": "weekly",
            },
            {
                "lender_mfi": "tsepo",
                "outstanding_balance": "3000.10",
                "installment_amount": "250.00",
                "repayment_frequency": "fortnightly",
            },
            {"lender_mfi": "khotso", "outstanding_balance": "0.00", "status": "closed", "event_type": "closed"},
        )
        assert built.totals.active_loans == 3
        assert built.totals.distinct_active_lenders == 2
        assert built.totals.total_outstanding == Decimal("14254.50")
        # 945.60 + 433.33 (100 × 52/12) + 541.67 (250 × 26/12)
        assert built.totals.total_monthly_installment == Decimal("1920.60")
        assert len(built.accounts) == 4

    def test_empty_file_has_zero_totals_and_a_thin_file_score(self) -> None:
        built = report()
        assert (built.totals.active_loans, built.totals.total_outstanding) == (0, Decimal("0.00"))
        assert built.flags == ()
        assert (built.score.points, built.score.reasons, built.score.band) == (
            580,
            (ReasonCode.R07_THIN_FILE,),
            "medium",
        )

    def test_naive_time_is_refused(self) -> None:
        with pytest.raises(ValidationError) as excinfo:
            build_credit_report(credit_file=credit_file(), as_of=datetime(2026, 6, 15), inquiring_mfi="x")
        assert excinfo.value.rule == "timezone"


class TestActiveLoansElsewhere:
    def test_fires_at_two_active_loans_at_other_mfis(self) -> None:
        built = report({"lender_mfi": "khotso"}, {"lender_mfi": "tsepo"})
        assert FlagCode.ACTIVE_LOANS_ELSEWHERE in flags(built)
        assert built.active_loans_elsewhere == 2
        assert "2 active loans at other MFIs" in built.flags[0].reason

    def test_does_not_fire_below_the_threshold(self) -> None:
        built = report(
            {"lender_mfi": "khotso"},
            {"lender_mfi": INQUIRER},
            {"lender_mfi": "tsepo", "status": "closed"},
        )
        assert built.active_loans_elsewhere == 1
        assert FlagCode.ACTIVE_LOANS_ELSEWHERE not in flags(built)

    def test_threshold_is_configurable_per_tenant(self) -> None:
        built = report({"lender_mfi": "khotso"}, rules=StackingRules(active_loans_elsewhere=1))
        assert FlagCode.ACTIVE_LOANS_ELSEWHERE in flags(built)


class TestInquiries:
    def test_velocity_fires_at_three_distinct_mfis_in_thirty_days(self) -> None:
        built = report(
            inquiries=(
                ("a", AS_OF - timedelta(days=30) + timedelta(seconds=1)),
                ("b", AS_OF - timedelta(days=2)),
                ("c", AS_OF),
            )
        )
        assert built.inquiries_last_30_days == 3
        assert FlagCode.INQUIRY_VELOCITY in flags(built)
        assert ReasonCode.R05_INQUIRY_VELOCITY in built.score.reasons

    def test_velocity_does_not_fire_for_two_mfis_however_often(self) -> None:
        built = report(inquiries=tuple(("a" if n % 2 else "b", AS_OF - timedelta(days=n)) for n in range(6)))
        assert built.inquiries_last_30_days == 2
        assert FlagCode.INQUIRY_VELOCITY not in flags(built)

    def test_inquiry_exactly_thirty_days_old_or_in_the_future_is_outside_the_window(self) -> None:
        built = report(
            inquiries=(
                ("a", AS_OF - timedelta(days=30)),
                ("b", AS_OF - timedelta(days=1)),
                ("c", AS_OF - timedelta(days=1)),
                ("d", AS_OF + timedelta(seconds=1)),
            )
        )
        assert built.inquiries_last_30_days == 2
        assert FlagCode.INQUIRY_VELOCITY not in flags(built)

    def test_windows_count_distinct_mfis_over_7_30_and_90_days(self) -> None:
        built = report(
            inquiries=(
                ("a", AS_OF - timedelta(days=1)),
                ("a", AS_OF - timedelta(days=3)),
                ("b", AS_OF - timedelta(days=10)),
                ("c", AS_OF - timedelta(days=60)),
                ("d", AS_OF - timedelta(days=89)),
                ("e", AS_OF - timedelta(days=91)),
            )
        )
        assert (built.inquiries_last_7_days, built.inquiries_last_30_days, built.inquiries_last_90_days) == (1, 2, 4)


class TestDefaultHistory:
    def test_fires_at_ninety_days_past_due_within_24_months(self) -> None:
        built = report({"days_past_due": 90, "as_of": date(2024, 7, 1), "lender_mfi": "khotso"})
        assert built.worst_days_past_due_24m == 90
        assert FlagCode.DEFAULT_HISTORY in flags(built)
        assert built.score.reasons == (ReasonCode.R02_SEVERE_DELINQUENCY, ReasonCode.R03_CURRENT_ARREARS)

    def test_does_not_fire_at_eighty_nine_days(self) -> None:
        built = report({"days_past_due": 89})
        assert FlagCode.DEFAULT_HISTORY not in flags(built)
        assert ReasonCode.R01_DELINQUENCY in built.score.reasons

    def test_delinquency_older_than_24_months_is_ignored(self) -> None:
        built = report(
            {"days_past_due": 150, "as_of": date(2024, 6, 30)},
            {"days_past_due": 0, "as_of": date(2026, 6, 1), "sequence": 2, "loan_ref": "L-0"},
        )
        assert built.accounts[0].worst_days_past_due == 150
        assert built.worst_days_past_due_24m == 0
        assert FlagCode.DEFAULT_HISTORY not in flags(built)

    def test_fires_on_a_write_off_within_24_months(self) -> None:
        built = report({"status": "written_off", "as_of": date(2024, 6, 15), "days_past_due": 0})
        assert [a.loan_ref for a in built.write_offs] == ["L-0"]
        assert FlagCode.DEFAULT_HISTORY in flags(built)
        assert "write-off" in built.flags[0].reason

    def test_write_off_older_than_24_months_is_listed_but_not_flagged(self) -> None:
        built = report({"status": "written_off", "as_of": date(2024, 6, 14), "days_past_due": 0})
        assert len(built.write_offs) == 1
        assert FlagCode.DEFAULT_HISTORY not in flags(built)

    def test_window_start_is_clamped_to_the_end_of_a_shorter_month(self) -> None:
        as_of = datetime(2026, 2, 28, tzinfo=UTC)
        file = credit_file({"status": "written_off", "as_of": date(2024, 2, 28), "days_past_due": 0})
        assert FlagCode.DEFAULT_HISTORY in flags(build_credit_report(credit_file=file, as_of=as_of, inquiring_mfi="x"))
        leap = datetime(2028, 2, 29, tzinfo=UTC)
        file = credit_file({"status": "written_off", "as_of": date(2026, 2, 28), "days_past_due": 0})
        assert FlagCode.DEFAULT_HISTORY in flags(build_credit_report(credit_file=file, as_of=leap, inquiring_mfi="x"))


class TestDisputes:
    def test_open_dispute_is_flagged_until_resolved(self) -> None:
        registry = InMemoryCreditRegistry()
        registry.record_account_event(account_event())
        registry.open_dispute(dispute())
        file = registry.credit_file(country="LS", borrower_key=KEY)
        built = build_credit_report(credit_file=file, as_of=AS_OF, inquiring_mfi=INQUIRER)
        assert [d.dispute_id for d in built.open_disputes] == ["D-1"]
        registry.resolve_dispute(dispute_id="D-1", by_mfi="khotso", resolution="fixed", at=AS_OF)
        file = registry.credit_file(country="LS", borrower_key=KEY)
        assert build_credit_report(credit_file=file, as_of=AS_OF, inquiring_mfi=INQUIRER).open_disputes == ()


class TestScorecard:
    def test_mild_delinquency_costs_forty_points(self) -> None:
        built = report(
            {"days_past_due": 30, "as_of": date(2026, 3, 1)}, {"days_past_due": 0, "sequence": 2, "loan_ref": "L-0"}
        )
        assert (built.score.points, built.score.reasons) == (560, (ReasonCode.R01_DELINQUENCY,))
        assert built.score.band == "medium"

    def test_delinquency_over_thirty_days_costs_a_hundred(self) -> None:
        built = report({"days_past_due": 31})
        assert built.score.points == 600 - 100 - 50
        assert built.score.reasons == (ReasonCode.R01_DELINQUENCY, ReasonCode.R03_CURRENT_ARREARS)

    def test_good_closures_add_up_to_sixty_points(self) -> None:
        closed = {"status": "closed", "outstanding_balance": "0"}
        assert report(closed).score.points == 620
        assert report(*[closed] * 4).score.points == 660
        assert report({**closed, "days_past_due": 31}).score.points == 500

    def test_score_never_goes_below_three_hundred(self) -> None:
        built = report(
            {"lender_mfi": "a", "days_past_due": 200},
            {"lender_mfi": "b", "days_past_due": 10},
            inquiries=(("a", AS_OF), ("b", AS_OF), ("c", AS_OF)),
        )
        assert built.score.points == 300
        assert built.score.band == "high"
        assert built.score.reasons == (
            ReasonCode.R02_SEVERE_DELINQUENCY,
            ReasonCode.R03_CURRENT_ARREARS,
            ReasonCode.R04_MULTIPLE_ACTIVE_LOANS,
            ReasonCode.R05_INQUIRY_VELOCITY,
        )


class TestAssessApplication:
    def existing(self) -> CreditReport:
        # one active loan elsewhere with 1 500.00 a month
        return report({"lender_mfi": "khotso", "installment_amount": "1500.00"})

    def test_over_indebted_does_not_fire_at_exactly_the_limit(self) -> None:
        assessment = assess_application(
            report=self.existing(), monthly_income="5000.00", new_monthly_installment="500.00"
        )
        assert assessment.total_monthly_installments == Decimal("2000.00")
        assert assessment.debt_to_income_ratio == Decimal("0.4000")
        assert not assessment.has_flag(FlagCode.OVER_INDEBTED)
        assert assessment.recommendation is Recommendation.APPROVE

    def test_over_indebted_fires_one_cent_above_the_limit(self) -> None:
        assessment = assess_application(
            report=self.existing(), monthly_income="5000.00", new_monthly_installment="500.01"
        )
        assert assessment.has_flag(FlagCode.OVER_INDEBTED)
        assert assessment.debt_to_income_ratio == Decimal("0.4000")
        assert ReasonCode.R06_HIGH_DEBT_TO_INCOME in assessment.score.reasons
        assert assessment.recommendation is Recommendation.DECLINE
        assert "OVER_INDEBTED" in assessment.reasons

    def test_product_ratio_overrides_the_default(self) -> None:
        assessment = assess_application(
            report=self.existing(),
            monthly_income="5000.00",
            new_monthly_installment="500.00",
            max_debt_to_income_ratio="0.35",
        )
        assert assessment.max_debt_to_income_ratio == Decimal("0.35")
        assert assessment.has_flag(FlagCode.OVER_INDEBTED)

    def test_no_income_means_no_ratio_and_over_indebted(self) -> None:
        assessment = assess_application(report=report(), monthly_income="0", new_monthly_installment="1.00")
        assert assessment.debt_to_income_ratio is None
        assert assessment.has_flag(FlagCode.OVER_INDEBTED)

    def test_stacking_flag_or_open_dispute_asks_for_review(self) -> None:
        stacked = report({"lender_mfi": "a"}, {"lender_mfi": "b"})
        assessment = assess_application(report=stacked, monthly_income="20000", new_monthly_installment="100")
        assert assessment.recommendation is Recommendation.REVIEW
        registry = InMemoryCreditRegistry()
        registry.record_account_event(account_event())
        registry.open_dispute(dispute())
        disputed = build_credit_report(
            credit_file=registry.credit_file(country="LS", borrower_key=KEY), as_of=AS_OF, inquiring_mfi=INQUIRER
        )
        assessment = assess_application(report=disputed, monthly_income="20000", new_monthly_installment="100")
        assert assessment.recommendation is Recommendation.REVIEW
        assert assessment.reasons == ("OPEN_DISPUTE",)

    def test_default_history_declines(self) -> None:
        assessment = assess_application(
            report=report({"days_past_due": 95}), monthly_income="20000", new_monthly_installment="100"
        )
        assert assessment.recommendation is Recommendation.DECLINE

    def test_low_score_without_flags_asks_for_review(self) -> None:
        # worst 31–89 DPD (−100) and in arrears now (−50): 450, below 550 but not below 450
        assessment = assess_application(
            report=report({"days_past_due": 45}), monthly_income="20000", new_monthly_installment="100"
        )
        assert assessment.score.points == 450
        assert assessment.recommendation is Recommendation.REVIEW

    @pytest.mark.parametrize("field", ["monthly_income", "new_monthly_installment", "max_debt_to_income_ratio"])
    def test_negative_amounts_are_refused(self, field: str) -> None:
        kwargs: dict[str, Any] = {"monthly_income": "1", "new_monthly_installment": "1", field: "-1"}
        with pytest.raises(ValidationError) as excinfo:
            assess_application(report=report(), **kwargs)
        assert excinfo.value.rule == "min_value"


class TestSerialization:
    def test_assessment_round_trips_through_json(self) -> None:
        registry = InMemoryCreditRegistry()
        registry.record_account_event(account_event(lender_mfi="khotso", days_past_due=95))
        registry.record_account_event(
            account_event(lender_mfi="tsepo", loan_ref="L-2", status="written_off", as_of=date(2026, 2, 1))
        )
        registry.record_account_event(account_event(lender_mfi="a", loan_ref="L-3", repayment_frequency="weekly"))
        registry.open_dispute(dispute())
        registry.resolve_dispute(dispute_id="D-1", by_mfi="khotso", resolution="fixed", at=AS_OF)
        registry.open_dispute(dispute("D-2", lender_mfi="tsepo", loan_ref="L-2"))
        registry.record_inquiry(inquiry("I-1", at=AS_OF - timedelta(days=1)))
        built = build_credit_report(
            credit_file=registry.credit_file(country="LS", borrower_key=KEY), as_of=AS_OF, inquiring_mfi=INQUIRER
        )
        for income in ("0", "8000.00"):
            assessment = assess_application(report=built, monthly_income=income, new_monthly_installment="945.60")
            payload = json.loads(json.dumps(assessment_to_dict(assessment)))
            assert assessment_from_dict(payload) == assessment
        assert payload["report"]["totals"]["total_outstanding"] == "20000.00"  # the written-off one is not active
        assert payload["debt_to_income_ratio"] == str(assessment.debt_to_income_ratio)
        assert report_from_dict(report_to_dict(built)) == built
        assert [d["dispute_id"] for d in payload["report"]["open_disputes"]] == ["D-2"]
