"""LoanTerms: coercion of inputs and every validation rule (field and rule named)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from letsema_core.errors import ValidationError
from letsema_core.money import Money
from letsema_core.schedules import Amortization, InterestMethod, LoanTerms, RepaymentFrequency

pytestmark = pytest.mark.unit

D = Decimal

VALID: dict[str, Any] = {
    "principal": "10000.00",
    "annual_interest_rate_percent": "24",
    "term_in_periods": 12,
    "repayment_frequency": "monthly",
    "interest_method": "declining_balance",
    "amortization": "equal_installments",
    "disbursement_date": date(2025, 1, 15),
}


def build(**changes: Any) -> LoanTerms:
    return LoanTerms(**{**VALID, **changes})


class TestLoanTermsCoercion:
    def test_amounts_accept_decimal_int_string_and_money(self) -> None:
        for value in (D("10000"), 10000, "10000.00", " 10000 ", Money("10000.00")):
            assert build(principal=value).principal == D("10000.00")

    def test_principal_is_kept_in_cents(self) -> None:
        assert str(build(principal=10000).principal) == "10000.00"

    def test_enums_accept_their_string_values_and_members(self) -> None:
        by_string = build(
            repayment_frequency="weekly", interest_method="declining_balance", amortization="equal_principal"
        )
        by_member = build(
            repayment_frequency=RepaymentFrequency.WEEKLY,
            interest_method=InterestMethod.DECLINING_BALANCE,
            amortization=Amortization.EQUAL_PRINCIPAL,
        )
        assert by_string == by_member
        assert by_string.repayment_frequency is RepaymentFrequency.WEEKLY
        assert by_string.amortization is Amortization.EQUAL_PRINCIPAL

    def test_flat_interest_forces_equal_principal(self) -> None:
        assert build(interest_method="flat", amortization="equal_installments").amortization is (
            Amortization.EQUAL_PRINCIPAL
        )

    def test_amortization_defaults_to_equal_installments(self) -> None:
        values = {k: v for k, v in VALID.items() if k != "amortization"}
        assert LoanTerms(**values).amortization is Amortization.EQUAL_INSTALLMENTS

    @pytest.mark.parametrize(("frequency", "periods"), [("weekly", 52), ("fortnightly", 26), ("monthly", 12)])
    def test_periods_per_year_follow_the_frequency(self, frequency: str, periods: int) -> None:
        assert build(repayment_frequency=frequency).periods_per_year == periods

    def test_paying_periods_exclude_principal_grace(self) -> None:
        assert build(grace_periods_principal=3).paying_periods == 9

    def test_net_disbursed_deducts_the_upfront_fees(self) -> None:
        loan = build(upfront_fee_percent="3", upfront_fee_amount="25.50")
        assert (loan.upfront_fees, loan.net_disbursed) == (D("325.50"), D("9674.50"))

    def test_terms_are_immutable(self) -> None:
        loan = build()
        with pytest.raises(AttributeError):
            loan.principal = D("1.00")  # type: ignore[misc]
        with pytest.raises(AttributeError):
            del loan.principal

    def test_equal_terms_compare_and_hash_equal(self) -> None:
        assert build() == build(principal=D("10000"))
        assert hash(build()) == hash(build(principal=D("10000")))
        assert build() != build(principal="10000.01")
        assert build() != "not terms"
        assert "principal=Decimal('10000.00')" in repr(build())

    def test_replace_revalidates_and_recomputes_the_fees(self) -> None:
        changed = replace(build(upfront_fee_percent="1"), principal="20000")
        assert (changed.principal, changed.upfront_fees) == (D("20000.00"), D("200.00"))
        with pytest.raises(ValidationError):
            replace(build(), term_in_periods=0)


def rejection(**changes: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        build(**changes)
    return caught.value


class TestLoanTermsValidation:
    @pytest.mark.parametrize(
        ("changes", "field", "rule"),
        [
            ({"principal": "0"}, "principal", "min_value"),
            ({"principal": "-5.00"}, "principal", "min_value"),
            ({"principal": "10.005"}, "principal", "max_decimal_places"),
            ({"principal": "1000000000000.00"}, "principal", "max_value"),
            ({"principal": 100.0}, "principal", "decimal"),
            ({"principal": "ten"}, "principal", "decimal"),
            ({"principal": "NaN"}, "principal", "decimal"),
            ({"principal": True}, "principal", "decimal"),
            ({"principal": Money("100.00", "ZAR")}, "principal", "currency"),
            ({"annual_interest_rate_percent": "-0.01"}, "annual_interest_rate_percent", "min_value"),
            ({"annual_interest_rate_percent": "1000.01"}, "annual_interest_rate_percent", "max_value"),
            ({"annual_interest_rate_percent": "12.0000001"}, "annual_interest_rate_percent", "max_decimal_places"),
            ({"annual_interest_rate_percent": 24.0}, "annual_interest_rate_percent", "decimal"),
            ({"term_in_periods": 0}, "term_in_periods", "min_value"),
            ({"term_in_periods": 601}, "term_in_periods", "max_value"),
            ({"term_in_periods": "12"}, "term_in_periods", "integer"),
            ({"term_in_periods": True}, "term_in_periods", "integer"),
            ({"repayment_frequency": "daily"}, "repayment_frequency", "choice"),
            ({"interest_method": "compound"}, "interest_method", "choice"),
            ({"amortization": "balloon"}, "amortization", "choice"),
            ({"disbursement_date": "2025-01-15"}, "disbursement_date", "date"),
            ({"disbursement_date": datetime(2025, 1, 15, 9, 0)}, "disbursement_date", "date"),
            ({"first_repayment_date": date(2025, 1, 15)}, "first_repayment_date", "after_disbursement"),
            ({"first_repayment_date": date(2025, 1, 14)}, "first_repayment_date", "after_disbursement"),
            ({"first_repayment_date": "2025-02-15"}, "first_repayment_date", "date"),
            ({"grace_periods_principal": -1}, "grace_periods_principal", "min_value"),
            ({"grace_periods_principal": 12}, "grace_periods_principal", "less_than_term"),
            ({"grace_periods_principal": 13}, "grace_periods_principal", "max_value"),
            ({"upfront_fee_percent": "-1"}, "upfront_fee_percent", "min_value"),
            ({"upfront_fee_percent": "100.5"}, "upfront_fee_percent", "max_value"),
            ({"upfront_fee_amount": "-0.01"}, "upfront_fee_amount", "min_value"),
            ({"upfront_fee_amount": "0.001"}, "upfront_fee_amount", "max_decimal_places"),
            ({"upfront_fee_percent": "100"}, "upfront_fees", "less_than_principal"),
            ({"upfront_fee_amount": "10000.00"}, "upfront_fees", "less_than_principal"),
            ({"upfront_fee_percent": "50", "upfront_fee_amount": "5000"}, "upfront_fees", "less_than_principal"),
        ],
    )
    def test_rule_is_named_with_its_field(self, changes: dict[str, Any], field: str, rule: str) -> None:
        error = rejection(**changes)
        assert (error.field, error.rule) == (field, rule)
        assert error.details["field"] == field
        assert error.details["rule"] == rule
        assert error.code == "validation_error"

    def test_choice_error_lists_the_choices(self) -> None:
        assert rejection(repayment_frequency="daily").details["choices"] == ["weekly", "fortnightly", "monthly"]

    def test_grace_one_below_the_term_is_accepted(self) -> None:
        assert build(grace_periods_principal=11).grace_periods_principal == 11

    def test_first_repayment_the_day_after_disbursement_is_accepted(self) -> None:
        assert build(first_repayment_date=date(2025, 1, 16)).first_repayment_date == date(2025, 1, 16)

    def test_fees_one_cent_below_the_principal_are_accepted(self) -> None:
        assert build(upfront_fee_amount="9999.99").net_disbursed == D("0.01")

    def test_extreme_but_valid_values_are_accepted(self) -> None:
        loan = build(
            principal="999999999999.99",
            annual_interest_rate_percent="1000",
            term_in_periods=600,
            upfront_fee_percent="99.999999",
        )
        assert (loan.principal, loan.term_in_periods) == (D("999999999999.99"), 600)
