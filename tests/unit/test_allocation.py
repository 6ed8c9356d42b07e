"""Repayment allocation: penalties → fees → interest → principal, oldest first, then current, then ahead."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from letsema_core.loans import (
    AllocationLine,
    InstallmentBalance,
    allocate_repayment,
    apply_allocation,
    payoff_amount,
)

pytestmark = pytest.mark.unit

Z = Decimal("0.00")


def bal(number: int, due: date, pen: str, fee: str, intr: str, pri: str) -> InstallmentBalance:
    return InstallmentBalance(number, due, Decimal(pen), Decimal(fee), Decimal(intr), Decimal(pri))


# Two overdue installments, a current one and two future ones.
BALANCES = (
    bal(1, date(2026, 1, 31), "5.00", "2.00", "20.00", "100.00"),
    bal(2, date(2026, 2, 28), "0.00", "2.00", "18.00", "100.00"),
    bal(3, date(2026, 3, 31), "0.00", "2.00", "16.00", "100.00"),
    bal(4, date(2026, 4, 30), "0.00", "2.00", "14.00", "100.00"),
    bal(5, date(2026, 5, 31), "0.00", "2.00", "12.00", "100.00"),
)
ON = date(2026, 3, 10)


def line(n: int, pen: str, fee: str, intr: str, pri: str) -> AllocationLine:
    return AllocationLine(n, Decimal(pen), Decimal(fee), Decimal(intr), Decimal(pri))


class TestAllocateRepayment:
    def test_penalties_come_before_fees_before_interest_before_principal(self) -> None:
        for amount, expected in [
            ("3.00", line(1, "3.00", "0", "0", "0")),
            ("6.00", line(1, "5.00", "1.00", "0", "0")),
            ("17.00", line(1, "5.00", "2.00", "10.00", "0")),
            ("57.00", line(1, "5.00", "2.00", "20.00", "30.00")),
        ]:
            result = allocate_repayment(balances=BALANCES, amount=Decimal(amount), on=ON)
            assert result.lines == (expected,)

    def test_the_oldest_installment_is_cleared_before_the_next_one(self) -> None:
        result = allocate_repayment(balances=BALANCES, amount=Decimal("137.00"), on=ON)
        assert result.lines == (line(1, "5.00", "2.00", "20.00", "100.00"), line(2, "0", "2.00", "8.00", "0"))

    def test_after_the_overdue_ones_the_current_installment_is_paid_in_full_order(self) -> None:
        result = allocate_repayment(balances=BALANCES, amount=Decimal("262.00"), on=ON)
        assert result.lines[-1] == line(3, "0", "2.00", "13.00", "0")

    def test_paying_ahead_goes_to_the_principal_of_the_next_installments_in_order(self) -> None:
        # 127 + 120 + 118 clears 1-3; 150 more pays 100 of #4's principal then 50 of #5's; their interest stays.
        result = allocate_repayment(balances=BALANCES, amount=Decimal("515.00"), on=ON)
        assert result.lines[3:] == (line(4, "0", "0", "0", "100.00"), line(5, "0", "0", "0", "50.00"))
        after = apply_allocation(balances=BALANCES, allocation=result)
        assert (after[3].interest, after[3].fees, after[3].principal) == (Decimal("14.00"), Decimal("2.00"), Z)
        assert after[4].principal == Decimal("50.00")

    def test_component_totals_add_up_to_the_allocated_amount(self) -> None:
        result = allocate_repayment(balances=BALANCES, amount=Decimal("300.00"), on=ON)
        assert (result.penalties, result.fees, result.interest, result.principal) == (
            Decimal("5.00"),
            Decimal("6.00"),
            Decimal("54.00"),
            Decimal("235.00"),
        )
        assert result.allocated == Decimal("300.00")
        assert sum((entry.total for entry in result.lines), Z) == Decimal("300.00")
        assert result.unallocated == Z

    def test_an_allocation_never_exceeds_what_is_due_and_returns_the_rest_unallocated(self) -> None:
        payoff = payoff_amount(balances=BALANCES, on=ON)
        result = allocate_repayment(balances=BALANCES, amount=payoff + Decimal("10.00"), on=ON)
        assert result.allocated == payoff
        assert result.unallocated == Decimal("10.00")

    def test_an_installment_due_on_the_payment_date_counts_as_due(self) -> None:
        on = date(2026, 2, 28)  # #2 is due today, #3 is current
        result = allocate_repayment(balances=BALANCES, amount=Decimal("400.00"), on=on)
        assert [entry.installment_number for entry in result.lines] == [1, 2, 3, 4]
        assert result.lines[3] == line(4, "0", "0", "0", "35.00")

    def test_before_the_first_due_date_the_first_installment_is_current(self) -> None:
        result = allocate_repayment(balances=BALANCES, amount=Decimal("130.00"), on=date(2026, 1, 5))
        assert result.lines == (line(1, "5.00", "2.00", "20.00", "100.00"), line(2, "0", "0", "0", "3.00"))

    def test_after_the_last_due_date_everything_is_due(self) -> None:
        on = date(2026, 7, 1)
        assert payoff_amount(balances=BALANCES, on=on) == sum((b.total for b in BALANCES), Z)

    def test_paid_installments_are_skipped(self) -> None:
        paid = (bal(1, date(2026, 1, 31), "0", "0", "0", "0"), *BALANCES[1:])
        result = allocate_repayment(balances=paid, amount=Decimal("10.00"), on=ON)
        assert result.lines == (line(2, "0", "2.00", "8.00", "0"),)

    def test_inputs_are_not_mutated(self) -> None:
        snapshot = tuple(BALANCES)
        allocate_repayment(balances=BALANCES, amount=Decimal("515.00"), on=ON)
        assert snapshot == BALANCES


class TestPayoffAmount:
    def test_is_due_installments_plus_the_current_one_plus_later_principal(self) -> None:
        # due: 127 + 120; current #3: 118; later principal 200 (their 28 interest and 4 fees waived).
        assert payoff_amount(balances=BALANCES, on=ON) == Decimal("565.00")

    def test_paying_exactly_the_payoff_clears_all_principal(self) -> None:
        payoff = payoff_amount(balances=BALANCES, on=ON)
        after = apply_allocation(
            balances=BALANCES, allocation=allocate_repayment(balances=BALANCES, amount=payoff, on=ON)
        )
        assert all(b.principal == 0 for b in after)
        assert all(b.is_paid for b in after[:3])
