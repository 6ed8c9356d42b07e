"""Portfolio metrics: outstanding principal, PAR30/PAR90 by balance, ageing, disbursed and collected."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from letsema_core.errors import ValidationError
from letsema_core.loans import ArrearsBucket, Loan, LoanStatus
from letsema_core.loans.testing import level_schedule
from letsema_core.portfolio import (
    Collection,
    LoanPosition,
    ageing,
    collected_in_period,
    collections_of,
    disbursed_in_period,
    outstanding_principal,
    par30,
    par90,
    portfolio_at_risk,
    position_of,
)

pytestmark = pytest.mark.unit

Z = Decimal("0.00")


def pos(
    loan_id: str, outstanding: str, dpd: int, status: LoanStatus = LoanStatus.ACTIVE, on: date = date(2026, 1, 10)
) -> LoanPosition:
    return LoanPosition(
        loan_id=loan_id,
        principal=Decimal("1000.00"),
        outstanding_principal=Decimal(outstanding),
        days_past_due=dpd,
        status=status,
        disbursed_on=on,
    )


BOOK = [
    pos("a", "1000.00", 0),
    pos("b", "500.00", 30),  # not > 30
    pos("c", "300.00", 31),
    pos("d", "200.00", 91),
    pos("e", "0.00", 0, LoanStatus.CLOSED, date(2025, 12, 1)),
    pos("f", "700.00", 200, LoanStatus.WRITTEN_OFF),
]


class TestOutstandingAndPar:
    def test_outstanding_principal_counts_active_loans_only(self) -> None:
        assert outstanding_principal(BOOK) == Decimal("2000.00")

    def test_par30_is_the_whole_balance_of_loans_more_than_30_days_late(self) -> None:
        par = par30(BOOK)
        assert (par.at_risk, par.total_outstanding) == (Decimal("500.00"), Decimal("2000.00"))
        assert par.ratio == Decimal("0.25")
        assert par.percent == Decimal("25.00")

    def test_par90_counts_only_loans_more_than_90_days_late(self) -> None:
        par = par90(BOOK)
        assert par.at_risk == Decimal("200.00")
        assert par.percent == Decimal("10.00")

    def test_the_percent_is_rounded_half_up_to_a_hundredth(self) -> None:
        par = portfolio_at_risk([pos("a", "2.00", 40), pos("b", "1.00", 0)], days=30)
        assert par.percent == Decimal("66.67")
        par = portfolio_at_risk([pos("a", "1.00", 40), pos("b", "7.00", 0)], days=30)
        assert par.percent == Decimal("12.50")

    def test_an_empty_portfolio_has_zero_par(self) -> None:
        par = par30([])
        assert (par.ratio, par.percent) == (Decimal(0), Z)

    def test_negative_days_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            portfolio_at_risk(BOOK, days=-1)


class TestAgeing:
    def test_every_bucket_is_listed_with_count_and_outstanding(self) -> None:
        rows = {r.bucket: (r.count, r.outstanding_principal) for r in ageing(BOOK)}
        assert rows == {
            ArrearsBucket.CURRENT: (1, Decimal("1000.00")),
            ArrearsBucket.DAYS_1_30: (1, Decimal("500.00")),
            ArrearsBucket.DAYS_31_60: (1, Decimal("300.00")),
            ArrearsBucket.DAYS_61_90: (0, Z),
            ArrearsBucket.DAYS_91_180: (1, Decimal("200.00")),
            ArrearsBucket.DAYS_180_PLUS: (0, Z),
        }


class TestPeriods:
    def test_disbursed_in_a_period_includes_both_ends_and_any_status(self) -> None:
        total = disbursed_in_period(BOOK, start=date(2025, 12, 1), end=date(2026, 1, 10))
        assert (total.count, total.amount) == (6, Decimal("6000.00"))
        total = disbursed_in_period(BOOK, start=date(2025, 12, 2), end=date(2026, 1, 9))
        assert (total.count, total.amount) == (0, Z)

    def test_collected_in_a_period_nets_reversals(self) -> None:
        collections = [
            Collection("a", date(2026, 2, 1), Decimal("100.00")),
            Collection("a", date(2026, 2, 3), Decimal("-100.00")),
            Collection("b", date(2026, 2, 28), Decimal("50.00")),
            Collection("b", date(2026, 3, 1), Decimal("70.00")),
        ]
        total = collected_in_period(collections, start=date(2026, 2, 1), end=date(2026, 2, 28))
        assert (total.count, total.amount) == (2, Decimal("50.00"))

    def test_a_period_ending_before_it_starts_is_refused(self) -> None:
        with pytest.raises(ValidationError) as info:
            collected_in_period([], start=date(2026, 2, 2), end=date(2026, 2, 1))
        assert info.value.rule == "not_before_start"


class TestFromLoans:
    def test_position_and_collections_come_from_a_loan(self) -> None:
        schedule = level_schedule(first_due=date(2026, 1, 31), periods=2, principal_each="100.00", interest_each="5.00")
        loan = Loan(loan_id="L", schedule=schedule, disbursed_on=date(2026, 1, 1))
        r = loan.record_repayment(on=date(2026, 1, 31), amount="105.00").transaction
        loan.reverse_repayment(transaction_id=r.transaction_id, on=date(2026, 2, 2))
        position = position_of(loan, as_of=date(2026, 3, 5), officer_id="o1", branch_id="b1")
        assert position == LoanPosition(
            "L", Decimal("200.00"), Decimal("200.00"), 33, LoanStatus.ACTIVE, date(2026, 1, 1), "o1", "b1"
        )
        assert collections_of(loan) == (
            Collection("L", date(2026, 1, 31), Decimal("105.00")),
            Collection("L", date(2026, 2, 2), Decimal("-105.00")),
        )
