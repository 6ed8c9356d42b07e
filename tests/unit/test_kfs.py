"""Key Fact Statement: every disclosed figure, and the effective annual rate checked independently.

The expected effective rates are derived in the test itself: the per-period IRR is found by bisection in
exact rational arithmetic (``fractions.Fraction``) to 1e-15, then ((1+i)^ppy − 1)·100 is rounded half-up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import letsema_core.schedules.kfs as kfs_module
from letsema_core.schedules import KeyFactStatement, LoanTerms, generate_schedule, key_fact_statement
from letsema_core.schedules.kfs import _newton_or_bisect, effective_annual_rate_percent, periodic_irr

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


# 58 payments against an outlay of 4 919.04 (random amounts that made the old solver take 111 NPV steps).
SLOW_IRR_PAYMENTS = (
    "547.44 334.09 945.19 415.57 820.68 30.84 287.19 355.24 407.98 772.47 735.37 186.39 699.53 734.95 "
    "393.68 972.18 389.43 591.58 386.57 643.94 74.65 550.06 197.29 235.49 796.02 961.43 451.4 641.77 "
    "222.13 55.94 154.19 286.47 387.46 176.85 778.14 533.29 737.62 613.86 834.17 536.37 719.41 829.76 "
    "362.89 592.84 323.7 792.11 486.7 968.42 688.86 925.64 421.81 810.64 636.45 764.28 346.98 115.89 "
    "413.37 669.35"
)


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

    def test_a_root_reached_from_below_is_returned_at_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # The solver used to leave this root (reached from below, with the bracket's top still at 1) for
        # the midpoint of [root, 1] and crawl back by bisection: 111 NPV evaluations instead of 11.
        payments = [D(p) for p in SLOW_IRR_PAYMENTS.split()]
        evaluations: list[Decimal] = []
        npv = kfs_module._npv

        def counted(rate: Decimal, outlay: Decimal, flows: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
            evaluations.append(rate)
            return npv(rate, outlay, flows)

        monkeypatch.setattr(kfs_module, "_npv", counted)
        rate = periodic_irr(outlay=D("4919.04"), payments=payments)
        assert len(evaluations) < 20
        assert abs(rate - D("0.1035263781145949474486746")) < D("1e-25")
        assert abs(npv(rate, D("4919.04"), payments)[0]) < D("1e-20")

    def test_a_newton_step_out_of_the_bracket_falls_back_to_its_midpoint(self) -> None:
        # Unreachable in exact arithmetic (the NPV is convex and decreasing), kept for rounding overshoots.
        assert _newton_or_bisect(candidate=D("0.30"), low=D("0.10"), high=D("0.20")) == D("0.15")
        assert _newton_or_bisect(candidate=D("0.05"), low=D("0.10"), high=D("0.20")) == D("0.15")
        assert _newton_or_bisect(candidate=D("0.12"), low=D("0.10"), high=D("0.20")) == D("0.12")

    def test_an_absurd_but_valid_product_still_gets_an_effective_rate(self) -> None:
        # 1000 % a year, weekly, 600 weeks, 99 % fee: the effective rate has ~70 integer digits, more than
        # the working precision; quantizing it used to raise InvalidOperation.
        terms = loan(
            annual_interest_rate_percent="1000",
            term_in_periods=600,
            repayment_frequency="weekly",
            upfront_fee_percent="99",
        )
        rate = key_fact_statement(terms).effective_annual_rate_percent
        assert rate > D("1e60")
        assert rate.as_tuple().exponent == -2
