"""Key Fact Statement: every disclosed figure, and the effective annual rate checked independently.

The expected effective rates are derived in the test itself: the per-period IRR is found by bisection in
exact rational arithmetic (``fractions.Fraction``) to 1e-15, then ((1+i)^ppy − 1)·100 is rounded half-up.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsema_core.schedules import KeyFactStatement, LoanTerms, generate_schedule, key_fact_statement
from letsema_core.schedules.kfs import effective_annual_rate_percent, periodic_irr

pytestmark = pytest.mark.unit

D = Decimal


def loan(**changes: object) -> LoanTerms:
    values: dict[str, object] = {
        "principal": "10000.00",
        "annual_interest_rate_percent": "24",
        "term_in_periods": 12,
        "repayment_frequency": "monthly",
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "disbursement_date": date(2025, 1, 15),
        **changes,
    }
    return LoanTerms(**values)  # type: ignore[arg-type]


def fraction_irr(outlay: Fraction, payments: list[Fraction]) -> Fraction:
    """Per-period IRR by plain bisection on exact rationals (independent of the Newton solver)."""

    def npv(rate: Fraction) -> Fraction:
        return sum((p / (1 + rate) ** k for k, p in enumerate(payments, start=1)), -outlay)

    low, high = Fraction(0), Fraction(1)
    while npv(high) > 0:
        high *= 2
    while high - low > Fraction(1, 10**15):
        mid = (low + high) / 2
        # Limit the denominators so the exact powers stay small; the bracket still holds the root.
        mid = mid.limit_denominator(10**18)
        if npv(mid) > 0:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def expected_ear(terms: LoanTerms) -> Decimal:
    schedule = generate_schedule(terms)
    rate = fraction_irr(Fraction(terms.net_disbursed), [Fraction(row.total_due) for row in schedule.installments])
    percent = ((1 + rate) ** terms.periods_per_year - 1) * 100
    return D(math.floor(percent * 100 + Fraction(1, 2))) / 100


class TestKeyFactStatement:
    def test_discloses_every_figure_for_the_domain_check_loan(self) -> None:
        # Figures from the golden schedule (DOMAIN.md check); EAR by the Fraction bisection above.
        kfs = key_fact_statement(loan())
        assert isinstance(kfs, KeyFactStatement)
        assert kfs.principal == D("10000.00")
        assert kfs.net_disbursed == D("10000.00")
        assert kfs.installment_count == 12
        assert kfs.installment_amount == D("945.60")
        assert kfs.total_interest == D("1347.15")
        assert kfs.total_fees == D("0.00")
        assert kfs.total_cost_of_credit == D("1347.15")
        assert kfs.total_repayable == D("11347.15")
        assert kfs.effective_annual_rate_percent == expected_ear(loan()) == D("26.82")
        assert kfs.nominal_annual_rate_percent == D("24")
        assert (kfs.first_due_date, kfs.last_due_date) == (date(2025, 2, 15), date(2026, 1, 15))
        assert kfs.installments == generate_schedule(loan()).installments

    def test_upfront_fees_raise_the_effective_rate_and_the_cost_of_credit(self) -> None:
        # By hand: fee 3 % of 10 000 = 300.00 deducted, so 9 700.00 is disbursed; EAR by Fraction bisection.
        terms = loan(upfront_fee_percent="3")
        kfs = key_fact_statement(terms)
        assert kfs.net_disbursed == D("9700.00")
        assert kfs.total_fees == D("300.00")
        assert kfs.total_cost_of_credit == D("1647.15")
        assert kfs.total_repayable == D("11347.15")
        assert kfs.effective_annual_rate_percent == expected_ear(terms) == D("34.48")

    def test_flat_rate_has_a_much_higher_effective_rate(self) -> None:
        # Same terms flat: 2 400.00 interest on a falling balance; EAR by Fraction bisection.
        terms = loan(interest_method="flat")
        kfs = key_fact_statement(terms)
        assert kfs.installment_amount == D("1033.33")
        assert kfs.total_interest == D("2400.00")
        assert kfs.effective_annual_rate_percent == expected_ear(terms) == D("50.67")

    def test_weekly_loan_compounds_over_fifty_two_periods(self) -> None:
        terms = loan(
            principal="5000.00",
            annual_interest_rate_percent="30",
            term_in_periods=16,
            repayment_frequency="weekly",
            upfront_fee_amount="75",
        )
        kfs = key_fact_statement(terms)
        assert kfs.effective_annual_rate_percent == expected_ear(terms)
        assert kfs.net_disbursed == D("4925.00")

    def test_installment_amount_is_the_first_paying_installment_after_grace(self) -> None:
        # Grace golden (test_schedules): 2 × 200.00 then 1 113.27.
        kfs = key_fact_statement(loan(grace_periods_principal=2))
        assert kfs.installment_amount == D("1113.27")

    def test_zero_interest_and_no_fees_is_a_zero_effective_rate(self) -> None:
        kfs = key_fact_statement(loan(annual_interest_rate_percent="0"))
        assert kfs.effective_annual_rate_percent == D("0.00")
        assert kfs.total_cost_of_credit == D("0.00")

    def test_zero_interest_with_a_fee_still_costs_something(self) -> None:
        terms = loan(annual_interest_rate_percent="0", upfront_fee_amount="100")
        kfs = key_fact_statement(terms)
        assert kfs.effective_annual_rate_percent == expected_ear(terms)
        assert kfs.effective_annual_rate_percent > 0

    @settings(max_examples=40, deadline=None)
    @given(
        rate=st.integers(min_value=0, max_value=9_000),
        term=st.integers(min_value=1, max_value=24),
        fee=st.integers(min_value=0, max_value=1_000),
        frequency=st.sampled_from(["weekly", "fortnightly", "monthly"]),
        method=st.sampled_from(["flat", "declining_balance"]),
    )
    def test_effective_rate_matches_the_rational_bisection(
        self, rate: int, term: int, fee: int, frequency: str, method: str
    ) -> None:
        terms = loan(
            annual_interest_rate_percent=D(rate) / 100,
            term_in_periods=term,
            upfront_fee_amount=fee,
            repayment_frequency=frequency,
            interest_method=method,
        )
        kfs = key_fact_statement(terms)
        assert kfs.effective_annual_rate_percent == expected_ear(terms)
        assert kfs.total_cost_of_credit == kfs.total_interest + kfs.total_fees
        assert kfs.total_repayable == terms.principal + kfs.total_interest


class TestPeriodicIrr:
    def test_a_single_payment_gives_its_simple_return(self) -> None:
        assert abs(periodic_irr(outlay=D("100"), payments=[D("110")]) - D("0.1")) < D("1e-30")

    def test_a_large_return_is_bracketed_by_doubling(self) -> None:
        # 100 → 1 000 in one period: i = 9 exactly.
        assert abs(periodic_irr(outlay=D("100"), payments=[D("1000")]) - 9) < D("1e-30")

    @pytest.mark.parametrize(
        ("outlay", "payments"),
        [(D("0"), [D("1")]), (D("100"), [D("50"), D("-1"), D("60")]), (D("100"), [D("40"), D("50")])],
    )
    def test_refuses_cash_flows_without_a_non_negative_rate(self, outlay: Decimal, payments: list[Decimal]) -> None:
        with pytest.raises(ValueError, match=r"outlay|payments"):
            periodic_irr(outlay=outlay, payments=payments)

    def test_effective_rate_rounds_half_up_to_the_hundredth(self) -> None:
        # (1 + 0.00005)^1 − 1 = 0.005 % exactly → 0.01 half-up.
        assert effective_annual_rate_percent(periodic_rate=D("0.00005"), periods_per_year=1) == D("0.01")
