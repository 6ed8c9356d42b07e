"""Schedule generation: golden schedules to the cent, an independent reference, and properties.

Golden figures come from DOMAIN.md (the two "Check" cases), from hand computation (noted), or from
``reference_schedule`` below: an independent reimplementation of DOMAIN.md's rules in exact rational
arithmetic (``fractions.Fraction``, explicit half-up rounding, ``calendar.monthrange`` for dates).
"""

from __future__ import annotations

import calendar
import math
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letsema_core.schedules import (
    Amortization,
    Installment,
    InterestMethod,
    LoanTerms,
    RepaymentFrequency,
    RepaymentSchedule,
    generate_schedule,
)
from letsema_core.schedules.dates import add_months

pytestmark = pytest.mark.unit

D = Decimal
ZERO = D("0.00")

# --- Independent reference: exact rational arithmetic (fractions.Fraction), written from DOMAIN.md ---

PERIODS_PER_YEAR = {"weekly": 52, "fortnightly": 26, "monthly": 12}


def half_up_cents(value: Fraction) -> Fraction:
    """Round a non-negative rational half-up to the cent."""
    assert value >= 0
    return Fraction(math.floor(value * 100 + Fraction(1, 2)), 100)


def ref_due_dates(frequency: str, count: int, disbursed: date, first: date | None) -> list[date]:
    if frequency != "monthly":
        step = timedelta(days=7 if frequency == "weekly" else 14)
        start = first if first is not None else disbursed + step
        return [start + step * k for k in range(count)]
    anchor, offset = (first, 0) if first is not None else (disbursed, 1)
    out = []
    for k in range(offset, offset + count):
        year, month0 = divmod(anchor.year * 12 + anchor.month - 1 + k, 12)
        out.append(date(year, month0 + 1, min(anchor.day, calendar.monthrange(year, month0 + 1)[1])))
    return out


def reference_schedule(
    *,
    principal: str,
    rate: str,
    n: int,
    frequency: str,
    method: str,
    amortization: str = "equal_installments",
    disbursed: date = date(2025, 1, 15),
    first: date | None = None,
    grace: int = 0,
) -> list[tuple[date, Fraction, Fraction, Fraction]]:
    """Rows (due_date, principal, interest, balance_after), components capped so nothing goes negative."""
    p = Fraction(principal)
    r = Fraction(rate) / 100 / PERIODS_PER_YEAR[frequency]
    m = n - grace
    dates = ref_due_dates(frequency, n, disbursed, first)
    rows = []
    balance = p
    if method == "flat":
        unrounded_total = p * Fraction(rate) / 100 * n / PERIODS_PER_YEAR[frequency]
        total_interest = half_up_cents(unrounded_total)
        per_interest = half_up_cents(unrounded_total / n)
        share = half_up_cents(p / m)
        interest_left = total_interest
        for k in range(n):
            interest = interest_left if k == n - 1 else min(per_interest, interest_left)
            interest_left -= interest
            principal_k = Fraction(0) if k < grace else (balance if k == n - 1 else min(share, balance))
            balance -= principal_k
            rows.append((dates[k], principal_k, interest, balance))
        return rows
    if amortization == "equal_installments":
        installment = half_up_cents(p / m if r == 0 else p * r / (1 - (1 + r) ** -m))
    share = half_up_cents(p / m)
    for k in range(n):
        interest = half_up_cents(balance * r)
        if k < grace:
            principal_k = Fraction(0)
        elif k == n - 1:
            principal_k = balance
        elif amortization == "equal_installments":
            principal_k = min(installment - interest, balance)
        else:
            principal_k = min(share, balance)
        balance -= principal_k
        rows.append((dates[k], principal_k, interest, balance))
    return rows


def terms(
    *,
    principal: str,
    rate: str,
    n: int,
    frequency: str,
    method: str,
    amortization: str = "equal_installments",
    disbursed: date = date(2025, 1, 15),
    first: date | None = None,
    grace: int = 0,
    fee_percent: str = "0",
    fee_amount: str = "0",
) -> LoanTerms:
    return LoanTerms(
        principal=principal,
        annual_interest_rate_percent=rate,
        term_in_periods=n,
        repayment_frequency=frequency,
        interest_method=method,
        amortization=amortization,
        disbursement_date=disbursed,
        first_repayment_date=first,
        grace_periods_principal=grace,
        upfront_fee_percent=fee_percent,
        upfront_fee_amount=fee_amount,
    )


def totals(schedule: RepaymentSchedule) -> list[str]:
    return [str(row.total_due) for row in schedule.installments]


def rows(schedule: RepaymentSchedule) -> list[tuple[str, str, str, str, str]]:
    """(due_date, principal, interest, total, balance_after) of each installment, as strings."""
    return [
        (
            row.due_date.isoformat(),
            str(row.principal_due),
            str(row.interest_due),
            str(row.total_due),
            str(row.balance_after),
        )
        for row in schedule.installments
    ]


def as_cents(value: Fraction) -> Decimal:
    assert value.denominator in (1, 2, 4, 5, 10, 20, 25, 50, 100)
    return (D(value.numerator) / D(value.denominator)).quantize(D("0.01"))


class TestGenerateScheduleGolden:
    def test_declining_balance_equal_installments_matches_the_domain_check_row_by_row(self) -> None:
        # DOMAIN.md check (11 × 945.60, then 945.55; interest 1 347.15); rows from reference_schedule.
        schedule = generate_schedule(
            terms(principal="10000.00", rate="24", n=12, frequency="monthly", method="declining_balance")
        )
        assert rows(schedule) == [
            ("2025-02-15", "745.60", "200.00", "945.60", "9254.40"),
            ("2025-03-15", "760.51", "185.09", "945.60", "8493.89"),
            ("2025-04-15", "775.72", "169.88", "945.60", "7718.17"),
            ("2025-05-15", "791.24", "154.36", "945.60", "6926.93"),
            ("2025-06-15", "807.06", "138.54", "945.60", "6119.87"),
            ("2025-07-15", "823.20", "122.40", "945.60", "5296.67"),
            ("2025-08-15", "839.67", "105.93", "945.60", "4457.00"),
            ("2025-09-15", "856.46", "89.14", "945.60", "3600.54"),
            ("2025-10-15", "873.59", "72.01", "945.60", "2726.95"),
            ("2025-11-15", "891.06", "54.54", "945.60", "1835.89"),
            ("2025-12-15", "908.88", "36.72", "945.60", "927.01"),
            ("2026-01-15", "927.01", "18.54", "945.55", "0.00"),
        ]
        assert schedule.total_interest == D("1347.15")
        assert schedule.total_principal == D("10000.00")

    def test_flat_matches_the_domain_check(self) -> None:
        # DOMAIN.md check: 1 033.33 × 11 then 1 033.37; interest 2 400.00 (200.00 a month by hand).
        schedule = generate_schedule(terms(principal="10000.00", rate="24", n=12, frequency="monthly", method="flat"))
        assert totals(schedule) == ["1033.33"] * 11 + ["1033.37"]
        assert schedule.total_interest == D("2400.00")
        assert [row.interest_due for row in schedule.installments] == [D("200.00")] * 12
        assert [row.principal_due for row in schedule.installments] == [D("833.33")] * 11 + [D("833.37")]

    def test_flat_ignores_equal_installments_and_repays_equal_principal(self) -> None:
        # DOMAIN.md: "flat uses equal principal", so the amortization given does not matter.
        given_installments = generate_schedule(
            terms(
                principal="10000.00",
                rate="24",
                n=12,
                frequency="monthly",
                method="flat",
                amortization="equal_installments",
            )
        )
        given_principal = generate_schedule(
            terms(
                principal="10000.00",
                rate="24",
                n=12,
                frequency="monthly",
                method="flat",
                amortization="equal_principal",
            )
        )
        assert given_installments == given_principal

    def test_weekly_declining_balance_steps_seven_days_and_last_absorbs_residue(self) -> None:
        # reference_schedule; first interest by hand: 5 000 · 30 / 5 200 = 28.846… → 28.85.
        schedule = generate_schedule(
            terms(principal="5000.00", rate="30", n=16, frequency="weekly", method="declining_balance")
        )
        assert totals(schedule) == ["328.04"] * 15 + ["328.12"]
        assert schedule.total_interest == D("248.72")
        assert rows(schedule)[0] == ("2025-01-22", "299.19", "28.85", "328.04", "4700.81")
        assert rows(schedule)[-1] == ("2025-05-07", "326.24", "1.88", "328.12", "0.00")

    def test_fortnightly_declining_balance_at_one_percent_a_period(self) -> None:
        # By hand: r = 26 / 100 / 26 = 0.01; A = 8 000 · 0.01 / (1 − 1.01⁻¹⁰) = 844.66; rows from reference_schedule.
        schedule = generate_schedule(
            terms(principal="8000.00", rate="26", n=10, frequency="fortnightly", method="declining_balance")
        )
        assert totals(schedule) == ["844.66"] * 9 + ["844.61"]
        assert schedule.total_interest == D("446.55")
        assert [row.due_date for row in schedule.installments][:3] == [
            date(2025, 1, 29),
            date(2025, 2, 12),
            date(2025, 2, 26),
        ]

    def test_declining_equal_principal_charges_interest_on_the_falling_balance(self) -> None:
        # By hand: 2 000 principal a month; interest 1.5 % of 12 000, 10 000, … 2 000.
        schedule = generate_schedule(
            terms(
                principal="12000.00",
                rate="18",
                n=6,
                frequency="monthly",
                method="declining_balance",
                amortization="equal_principal",
            )
        )
        assert rows(schedule) == [
            ("2025-02-15", "2000.00", "180.00", "2180.00", "10000.00"),
            ("2025-03-15", "2000.00", "150.00", "2150.00", "8000.00"),
            ("2025-04-15", "2000.00", "120.00", "2120.00", "6000.00"),
            ("2025-05-15", "2000.00", "90.00", "2090.00", "4000.00"),
            ("2025-06-15", "2000.00", "60.00", "2060.00", "2000.00"),
            ("2025-07-15", "2000.00", "30.00", "2030.00", "0.00"),
        ]

    def test_equal_principal_last_period_takes_the_principal_residue(self) -> None:
        # By hand: 1 000 / 3 = 333.33, last 333.34; interest 10.00, 6.666… → 6.67, 3.3334 → 3.33.
        schedule = generate_schedule(
            terms(
                principal="1000.00",
                rate="12",
                n=3,
                frequency="monthly",
                method="declining_balance",
                amortization="equal_principal",
            )
        )
        assert [(r[1], r[2]) for r in rows(schedule)] == [
            ("333.33", "10.00"),
            ("333.33", "6.67"),
            ("333.34", "3.33"),
        ]

    @pytest.mark.parametrize("amortization", ["equal_installments", "equal_principal"])
    def test_zero_interest_splits_the_principal_evenly(self, amortization: str) -> None:
        # By hand: r = 0 → A = round(1 000 / 3) = 333.33, the last takes 333.34; no interest.
        schedule = generate_schedule(
            terms(
                principal="1000.00",
                rate="0",
                n=3,
                frequency="monthly",
                method="declining_balance",
                amortization=amortization,
            )
        )
        assert totals(schedule) == ["333.33", "333.33", "333.34"]
        assert schedule.total_interest == ZERO

    def test_grace_periods_pay_interest_only_then_amortize_over_the_rest(self) -> None:
        # By hand: 2 × 200.00 interest only; A over 10 = 10 000 · 0.02 / (1 − 1.02⁻¹⁰) = 1 113.27; rows by reference.
        schedule = generate_schedule(
            terms(principal="10000.00", rate="24", n=12, frequency="monthly", method="declining_balance", grace=2)
        )
        assert rows(schedule)[:3] == [
            ("2025-02-15", "0.00", "200.00", "200.00", "10000.00"),
            ("2025-03-15", "0.00", "200.00", "200.00", "10000.00"),
            ("2025-04-15", "913.27", "200.00", "1113.27", "9086.73"),
        ]
        assert totals(schedule) == ["200.00"] * 2 + ["1113.27"] * 9 + ["1113.22"]
        assert schedule.total_interest == D("1532.65")

    def test_flat_with_grace_spreads_principal_over_the_paying_periods(self) -> None:
        # By hand: total interest 6 000 · 20 % · 6/12 = 600, 100 a month; principal 6 000 / 5 = 1 200.
        schedule = generate_schedule(
            terms(principal="6000.00", rate="20", n=6, frequency="monthly", method="flat", grace=1)
        )
        assert totals(schedule) == ["100.00"] + ["1300.00"] * 5
        assert schedule.installments[0].principal_due == ZERO
        assert schedule.total_interest == D("600.00")

    def test_flat_weekly_last_period_takes_interest_and_principal_residues(self) -> None:
        # By hand: total 1 000 · 30 · 7 / 5 200 = 40.3846 → 40.38; per week 5.769 → 5.77 (last 5.76);
        # principal 142.857 → 142.86 (last 142.84).
        schedule = generate_schedule(terms(principal="1000.00", rate="30", n=7, frequency="weekly", method="flat"))
        assert rows(schedule)[0] == ("2025-01-22", "142.86", "5.77", "148.63", "857.14")
        assert rows(schedule)[-1] == ("2025-03-05", "142.84", "5.76", "148.60", "0.00")
        assert schedule.total_interest == D("40.38")

    def test_first_repayment_date_anchors_monthly_dates_with_month_end_clamping(self) -> None:
        # Dates by hand (Jan 31 → Feb 29 in 2024 → Mar 31 → Apr 30); amounts from reference_schedule.
        schedule = generate_schedule(
            terms(
                principal="3000.00",
                rate="36",
                n=4,
                frequency="monthly",
                method="declining_balance",
                disbursed=date(2024, 1, 15),
                first=date(2024, 1, 31),
            )
        )
        assert rows(schedule) == [
            ("2024-01-31", "717.08", "90.00", "807.08", "2282.92"),
            ("2024-02-29", "738.59", "68.49", "807.08", "1544.33"),
            ("2024-03-31", "760.75", "46.33", "807.08", "783.58"),
            ("2024-04-30", "783.58", "23.51", "807.09", "0.00"),
        ]

    def test_fortnightly_equal_principal_with_grace(self) -> None:
        # reference_schedule; by hand: interest 2 500 · 15 / 2 600 = 14.423 → 14.42, principal 2 500 / 4 = 625.
        schedule = generate_schedule(
            terms(
                principal="2500.00",
                rate="15",
                n=6,
                frequency="fortnightly",
                method="declining_balance",
                amortization="equal_principal",
                grace=2,
            )
        )
        assert totals(schedule) == ["14.42", "14.42", "639.42", "635.82", "632.21", "628.61"]

    def test_a_half_cent_of_interest_rounds_up(self) -> None:
        # By hand: 100.50 · 12 / 1 200 = 1.005 exactly → 1.01 half-up (half-even would give 1.00).
        schedule = generate_schedule(
            terms(principal="100.50", rate="12", n=1, frequency="monthly", method="declining_balance")
        )
        assert rows(schedule) == [("2025-02-15", "100.50", "1.01", "101.51", "0.00")]


class TestDueDates:
    def test_monthly_keeps_the_disbursement_day_clamped_to_month_end(self) -> None:
        # By hand: disbursed 31 Jan 2023 → 28 Feb, 31 Mar, 30 Apr (the clamp is not carried over).
        schedule = generate_schedule(
            terms(
                principal="900.00",
                rate="10",
                n=3,
                frequency="monthly",
                method="declining_balance",
                disbursed=date(2023, 1, 31),
            )
        )
        assert [row.due_date for row in schedule.installments] == [
            date(2023, 2, 28),
            date(2023, 3, 31),
            date(2023, 4, 30),
        ]

    def test_monthly_dates_cross_the_year_end(self) -> None:
        schedule = generate_schedule(
            terms(principal="900.00", rate="10", n=3, frequency="monthly", method="flat", disbursed=date(2025, 10, 31))
        )
        assert [row.due_date for row in schedule.installments] == [
            date(2025, 11, 30),
            date(2025, 12, 31),
            date(2026, 1, 31),
        ]

    def test_weekly_and_fortnightly_step_from_a_given_first_repayment_date(self) -> None:
        weekly = generate_schedule(
            terms(principal="900.00", rate="10", n=3, frequency="weekly", method="flat", first=date(2025, 1, 20))
        )
        fortnightly = generate_schedule(
            terms(principal="900.00", rate="10", n=3, frequency="fortnightly", method="flat", first=date(2025, 1, 20))
        )
        assert [row.due_date for row in weekly.installments] == [date(2025, 1, 20), date(2025, 1, 27), date(2025, 2, 3)]
        assert [row.due_date for row in fortnightly.installments] == [
            date(2025, 1, 20),
            date(2025, 2, 3),
            date(2025, 2, 17),
        ]

    @pytest.mark.parametrize(
        ("anchor", "months", "expected"),
        [
            (date(2025, 1, 31), 1, date(2025, 2, 28)),
            (date(2024, 1, 31), 1, date(2024, 2, 29)),
            (date(2025, 1, 31), 2, date(2025, 3, 31)),
            (date(2025, 12, 15), 1, date(2026, 1, 15)),
            (date(2025, 5, 30), 0, date(2025, 5, 30)),
            (date(2100, 1, 29), 1, date(2100, 2, 28)),
            (date(2000, 1, 29), 1, date(2000, 2, 29)),
        ],
    )
    def test_add_months_clamps_to_the_last_day_of_the_month(self, anchor: date, months: int, expected: date) -> None:
        assert add_months(anchor, months) == expected


class TestUpfrontFees:
    def test_fee_is_recorded_on_the_schedule_not_in_the_installments(self) -> None:
        # By hand: 2.5 % of 10 000 = 250.00, plus 50.00 fixed.
        schedule = generate_schedule(
            terms(
                principal="10000.00",
                rate="24",
                n=12,
                frequency="monthly",
                method="declining_balance",
                fee_percent="2.5",
                fee_amount="50",
            )
        )
        assert schedule.upfront_fees == D("300.00")
        assert schedule.total_fees == ZERO
        assert all(row.fees_due == ZERO and row.penalties_due == ZERO for row in schedule.installments)
        assert totals(schedule) == ["945.60"] * 11 + ["945.55"]

    def test_percent_fee_rounds_half_up_to_the_cent(self) -> None:
        # By hand: 1.5 % of 1 000.30 = 15.0045 → 15.00; 1.5 % of 1 001.00 = 15.015 → 15.02.
        low = terms(principal="1000.30", rate="0", n=1, frequency="monthly", method="flat", fee_percent="1.5")
        tie = terms(principal="1001.00", rate="0", n=1, frequency="monthly", method="flat", fee_percent="1.5")
        assert (low.upfront_fees, tie.upfront_fees) == (D("15.00"), D("15.02"))
        assert tie.net_disbursed == D("985.98")


# --- Properties ---------------------------------------------------------------------------------

FREQUENCIES = [f.value for f in RepaymentFrequency]
METHODS = [m.value for m in InterestMethod]
AMORTIZATIONS = [a.value for a in Amortization]


@st.composite
def loan_terms(
    draw: st.DrawFn, *, max_term: int = 60, min_cents: int = 10_000, max_cents: int = 50_000_000
) -> dict[str, object]:
    n = draw(st.integers(min_value=1, max_value=max_term))
    return {
        "principal": str(D(draw(st.integers(min_value=min_cents, max_value=max_cents))) / 100),
        "rate": str(D(draw(st.integers(min_value=0, max_value=12_000))) / 100),
        "n": n,
        "frequency": draw(st.sampled_from(FREQUENCIES)),
        "method": draw(st.sampled_from(METHODS)),
        "amortization": draw(st.sampled_from(AMORTIZATIONS)),
        "disbursed": draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))),
        "grace": draw(st.integers(min_value=0, max_value=min(n - 1, 6))),
    }


def assert_schedule_invariants(schedule: RepaymentSchedule, principal: Decimal) -> None:
    installments = schedule.installments
    assert sum((row.principal_due for row in installments), ZERO) == principal
    assert installments[-1].balance_after == ZERO
    balance = principal
    previous_due: date | None = None
    for number, row in enumerate(installments, start=1):
        assert row.number == number
        for amount in (
            row.principal_due,
            row.interest_due,
            row.fees_due,
            row.penalties_due,
            row.total_due,
            row.balance_after,
        ):
            assert amount >= 0
            assert amount == amount.quantize(D("0.01"))
        assert row.total_due == row.principal_due + row.interest_due + row.fees_due + row.penalties_due
        balance -= row.principal_due
        assert row.balance_after == balance
        if previous_due is not None:
            assert row.due_date > previous_due
        previous_due = row.due_date


class TestScheduleProperties:
    @settings(max_examples=200, deadline=None)
    @given(case=loan_terms())
    def test_schedule_equals_the_independent_rational_reference(self, case: dict[str, object]) -> None:
        schedule = generate_schedule(terms(**case))  # type: ignore[arg-type]
        expected = reference_schedule(**case)  # type: ignore[arg-type]
        assert [
            (row.due_date, row.principal_due, row.interest_due, row.balance_after) for row in schedule.installments
        ] == [(due, as_cents(p), as_cents(i), as_cents(b)) for due, p, i, b in expected]

    @settings(max_examples=200, deadline=None)
    @given(case=loan_terms())
    def test_principal_is_repaid_exactly_and_nothing_goes_negative(self, case: dict[str, object]) -> None:
        loan = terms(**case)  # type: ignore[arg-type]
        assert_schedule_invariants(generate_schedule(loan), loan.principal)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=loan_terms(max_term=600, min_cents=100, max_cents=500_000))
    def test_tiny_loans_over_long_terms_stay_non_negative(self, case: dict[str, object]) -> None:
        # Rounding each period up can repay more than is owed before the last period; components are capped.
        loan = terms(**case)  # type: ignore[arg-type]
        assert_schedule_invariants(generate_schedule(loan), loan.principal)

    @settings(max_examples=150, deadline=None)
    @given(case=loan_terms())
    def test_flat_interest_total_is_the_formula_rounded_once(self, case: dict[str, object]) -> None:
        case = {**case, "method": "flat"}
        loan = terms(**case)  # type: ignore[arg-type]
        formula = (
            D(loan.principal) * loan.annual_interest_rate_percent * loan.term_in_periods / (100 * loan.periods_per_year)
        )
        assert generate_schedule(loan).total_interest == formula.quantize(D("0.01"), rounding="ROUND_HALF_UP")


class TestScheduleValues:
    def test_installments_are_frozen_values(self) -> None:
        row = generate_schedule(
            terms(principal="100.00", rate="0", n=1, frequency="weekly", method="flat")
        ).installments[0]
        assert isinstance(row, Installment)
        with pytest.raises(AttributeError):
            row.principal_due = D("1.00")  # type: ignore[misc]
        assert row == Installment(1, date(2025, 1, 22), D("100.00"), ZERO, ZERO, ZERO, D("100.00"), ZERO)

    def test_generation_keeps_the_callers_decimal_context(self) -> None:
        import decimal

        before = decimal.getcontext().prec
        generate_schedule(terms(principal="5000.00", rate="30", n=16, frequency="weekly", method="declining_balance"))
        assert decimal.getcontext().prec == before


class TestTinyAmountsOverLongTerms:
    """Where rounding each period up would repay more than is owed, components are capped (docs/domain-notes.md)."""

    @pytest.mark.parametrize("amortization", ["equal_installments", "equal_principal"])
    def test_principal_stops_once_the_balance_is_repaid(self, amortization: str) -> None:
        # By hand: 1.00 / 150 = 0.0067 → 0.01 a week; the balance is gone after 100 weeks, the rest are 0.00.
        schedule = generate_schedule(
            terms(
                principal="1.00",
                rate="0",
                n=150,
                frequency="weekly",
                method="declining_balance",
                amortization=amortization,
            )
        )
        principal = [row.principal_due for row in schedule.installments]
        assert principal == [D("0.01")] * 100 + [ZERO] * 50
        assert schedule.installments[99].balance_after == ZERO

    def test_flat_interest_stops_once_the_total_is_charged(self) -> None:
        # By hand: total 26.06 · 1 % · 4/52 = 0.02; per week 0.005 → 0.01; the last two weeks carry none.
        schedule = generate_schedule(terms(principal="26.06", rate="1", n=4, frequency="weekly", method="flat"))
        assert [str(row.interest_due) for row in schedule.installments] == ["0.01", "0.01", "0.00", "0.00"]
        assert schedule.total_interest == D("0.02")
