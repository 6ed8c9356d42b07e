"""LoanProduct: validation of the product itself, and terms_for() against the product's limits."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.errors import ValidationError
from letsema_core.products import (
    Amortization,
    InterestMethod,
    LoanProduct,
    PrincipalOutOfRange,
    RepaymentFrequency,
    TermOutOfRange,
)
from letsema_core.schedules import LoanTerms, generate_schedule

pytestmark = pytest.mark.unit

D = Decimal

PRODUCT: dict[str, Any] = {
    "code": "SME-12",
    "name": "Small business, monthly",
    "principal_min": "500.00",
    "principal_max": "50000.00",
    "term_min": 3,
    "term_max": 24,
    "repayment_frequency": "monthly",
    "annual_interest_rate_percent": "24",
    "interest_method": "declining_balance",
    "amortization": "equal_installments",
    "grace_periods_principal": 0,
    "upfront_fee_percent": "2",
    "upfront_fee_amount": "50",
    "late_penalty_percent": "5",
    "penalty_grace_days": 3,
    "approval_limit": "20000",
    "max_debt_to_income_percent": "40",
    "credit_check_mandatory": True,
}


def product(**changes: Any) -> LoanProduct:
    return LoanProduct(**{**PRODUCT, **changes})


class TestLoanProduct:
    def test_values_are_coerced_to_core_types(self) -> None:
        p = product(code="  SME-12 ")
        assert p.code == "SME-12"
        assert p.currency == "LSL"
        assert (p.principal_min, p.principal_max) == (D("500.00"), D("50000.00"))
        assert p.repayment_frequency is RepaymentFrequency.MONTHLY
        assert p.interest_method is InterestMethod.DECLINING_BALANCE
        assert p.amortization is Amortization.EQUAL_INSTALLMENTS
        assert p.approval_limit == D("20000.00")

    def test_flat_product_repays_equal_principal(self) -> None:
        assert product(interest_method="flat").amortization is Amortization.EQUAL_PRINCIPAL

    def test_debt_to_income_percent_is_also_given_as_a_ratio(self) -> None:
        assert product().max_debt_to_income_ratio == D("0.4")

    @pytest.mark.parametrize(("principal", "admin_only"), [("20000.00", False), ("20000.01", True), ("500", False)])
    def test_only_an_admin_approves_above_the_approval_limit(self, principal: str, admin_only: bool) -> None:
        assert product().requires_admin_approval(principal=principal) is admin_only

    def test_late_penalty_is_a_percent_of_the_overdue_installment_rounded_half_up(self) -> None:
        # By hand: 5 % of 945.60 = 47.28; 5 % of 100.10 = 5.005 → 5.01.
        assert product().late_penalty_for(installment_due=D("945.60")) == D("47.28")
        assert product().late_penalty_for(installment_due=D("100.10")) == D("5.01")

    def test_products_are_immutable_values(self) -> None:
        p = product()
        with pytest.raises(AttributeError):
            p.name = "other"  # type: ignore[misc]
        with pytest.raises(AttributeError):
            del p.name
        assert p == product()
        assert hash(p) == hash(product())
        assert p != product(name="Other")
        assert p != "SME-12"
        assert "code='SME-12'" in repr(p)
        assert replace(p, name="Renamed").name == "Renamed"
        assert asdict(p)["principal_min"] == D("500.00")


class TestLoanProductValidation:
    @pytest.mark.parametrize(
        ("changes", "field", "rule"),
        [
            ({"code": " "}, "code", "required"),
            ({"name": ""}, "name", "required"),
            ({"currency": "ZAR"}, "currency", "currency"),
            ({"principal_min": "0"}, "principal_min", "min_value"),
            ({"principal_max": "499.99"}, "principal_max", "not_below_principal_min"),
            ({"principal_max": 5e4}, "principal_max", "decimal"),
            ({"term_min": 0}, "term_min", "min_value"),
            ({"term_max": 2}, "term_max", "not_below_term_min"),
            ({"term_max": 601}, "term_max", "max_value"),
            ({"repayment_frequency": "daily"}, "repayment_frequency", "choice"),
            ({"annual_interest_rate_percent": "-1"}, "annual_interest_rate_percent", "min_value"),
            ({"interest_method": "simple"}, "interest_method", "choice"),
            ({"amortization": "bullet"}, "amortization", "choice"),
            ({"grace_periods_principal": 3}, "grace_periods_principal", "less_than_term_min"),
            ({"grace_periods_principal": -1}, "grace_periods_principal", "min_value"),
            ({"upfront_fee_percent": "101"}, "upfront_fee_percent", "max_value"),
            ({"upfront_fee_amount": "-1"}, "upfront_fee_amount", "min_value"),
            ({"upfront_fee_amount": "490.00"}, "upfront_fees", "less_than_principal"),
            ({"late_penalty_percent": "100.01"}, "late_penalty_percent", "max_value"),
            ({"penalty_grace_days": -1}, "penalty_grace_days", "min_value"),
            ({"approval_limit": "0"}, "approval_limit", "min_value"),
            ({"max_debt_to_income_percent": "0"}, "max_debt_to_income_percent", "min_value"),
            ({"max_debt_to_income_percent": "100.5"}, "max_debt_to_income_percent", "max_value"),
            ({"credit_check_mandatory": "yes"}, "credit_check_mandatory", "boolean"),
        ],
    )
    def test_rule_is_named_with_its_field(self, changes: dict[str, Any], field: str, rule: str) -> None:
        with pytest.raises(ValidationError) as caught:
            product(**changes)
        assert (caught.value.field, caught.value.rule) == (field, rule)

    def test_fees_just_below_the_minimum_principal_are_accepted(self) -> None:
        # By hand: 2 % of 500 = 10.00, plus 489.99 = 499.99 < 500.00.
        assert product(upfront_fee_amount="489.99").upfront_fee_amount == D("489.99")


class TestTermsFor:
    def test_builds_terms_from_the_product_and_the_request(self) -> None:
        terms = product().terms_for(principal="10000", term_in_periods=12, disbursement_date=date(2025, 1, 15))
        assert terms == LoanTerms(
            principal="10000.00",
            annual_interest_rate_percent="24",
            term_in_periods=12,
            repayment_frequency="monthly",
            interest_method="declining_balance",
            amortization="equal_installments",
            disbursement_date=date(2025, 1, 15),
            upfront_fee_percent="2",
            upfront_fee_amount="50",
        )
        assert terms.upfront_fees == D("250.00")
        assert [str(r.total_due) for r in generate_schedule(terms).installments] == ["945.60"] * 11 + ["945.55"]

    def test_passes_the_first_repayment_date_through(self) -> None:
        terms = product().terms_for(
            principal="1000",
            term_in_periods=3,
            disbursement_date=date(2025, 1, 15),
            first_repayment_date=date(2025, 2, 28),
        )
        assert [r.due_date for r in generate_schedule(terms).installments] == [
            date(2025, 2, 28),
            date(2025, 3, 28),
            date(2025, 4, 28),
        ]

    @pytest.mark.parametrize("principal", ["500.00", "50000.00"])
    def test_accepts_the_range_limits(self, principal: str) -> None:
        terms = product().terms_for(principal=principal, term_in_periods=3, disbursement_date=date(2025, 1, 15))
        assert terms.principal == D(principal)

    @pytest.mark.parametrize(("principal", "rule"), [("499.99", "min_value"), ("50000.01", "max_value")])
    def test_principal_outside_the_range_is_refused_with_the_limits(self, principal: str, rule: str) -> None:
        with pytest.raises(PrincipalOutOfRange) as caught:
            product().terms_for(principal=principal, term_in_periods=12, disbursement_date=date(2025, 1, 15))
        error = caught.value
        assert isinstance(error, ValidationError)
        assert (error.field, error.rule, error.code) == ("principal", rule, "principal_out_of_range")
        assert (error.details["min"], error.details["max"]) == ("500.00", "50000.00")

    @pytest.mark.parametrize(("term", "rule"), [(2, "min_value"), (25, "max_value")])
    def test_term_outside_the_range_is_refused_with_the_limits(self, term: int, rule: str) -> None:
        with pytest.raises(TermOutOfRange) as caught:
            product().terms_for(principal="1000", term_in_periods=term, disbursement_date=date(2025, 1, 15))
        error = caught.value
        assert (error.field, error.rule, error.code) == ("term_in_periods", rule, "term_out_of_range")
        assert (error.details["min"], error.details["max"]) == (3, 24)

    def test_malformed_request_values_are_refused_before_the_range_check(self) -> None:
        with pytest.raises(ValidationError) as caught:
            product().terms_for(principal="1e", term_in_periods=12, disbursement_date=date(2025, 1, 15))
        assert (caught.value.field, caught.value.rule) == ("principal", "decimal")
        with pytest.raises(ValidationError) as caught:
            product().terms_for(principal="1000", term_in_periods=0, disbursement_date=date(2025, 1, 15))
        assert (caught.value.field, caught.value.rule) == ("term_in_periods", "min_value")

    def test_first_repayment_before_disbursement_is_refused_by_the_terms(self) -> None:
        with pytest.raises(ValidationError) as caught:
            product().terms_for(
                principal="1000",
                term_in_periods=12,
                disbursement_date=date(2025, 1, 15),
                first_repayment_date=date(2025, 1, 1),
            )
        assert (caught.value.field, caught.value.rule) == ("first_repayment_date", "after_disbursement")
