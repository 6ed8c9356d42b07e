"""Days past due, arrears buckets and the late-payment penalty amount."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from letsema_core.errors import ValidationError
from letsema_core.loans import (
    ArrearsBucket,
    InstallmentBalance,
    arrears_bucket,
    days_past_due,
    late_penalty_amount,
    penalty_is_due,
)

pytestmark = pytest.mark.unit

Z = Decimal("0.00")
DUE1, DUE2 = date(2026, 1, 31), date(2026, 2, 28)


def bal(number: int, due: date, principal: str, interest: str = "0", penalties: str = "0") -> InstallmentBalance:
    return InstallmentBalance(number, due, Decimal(penalties), Z, Decimal(interest), Decimal(principal))


class TestArrearsBucket:
    @pytest.mark.parametrize(
        ("dpd", "bucket"),
        [
            (0, ArrearsBucket.CURRENT),
            (1, ArrearsBucket.DAYS_1_30),
            (30, ArrearsBucket.DAYS_1_30),
            (31, ArrearsBucket.DAYS_31_60),
            (60, ArrearsBucket.DAYS_31_60),
            (61, ArrearsBucket.DAYS_61_90),
            (90, ArrearsBucket.DAYS_61_90),
            (91, ArrearsBucket.DAYS_91_180),
            (180, ArrearsBucket.DAYS_91_180),
            (181, ArrearsBucket.DAYS_180_PLUS),
            (5000, ArrearsBucket.DAYS_180_PLUS),
        ],
    )
    def test_boundaries(self, dpd: int, bucket: ArrearsBucket) -> None:
        assert arrears_bucket(days_past_due=dpd) is bucket

    def test_bucket_values_are_the_domain_labels(self) -> None:
        assert [b.value for b in ArrearsBucket] == ["current", "1-30", "31-60", "61-90", "91-180", "180+"]

    def test_negative_days_are_refused(self) -> None:
        with pytest.raises(ValidationError) as info:
            arrears_bucket(days_past_due=-1)
        assert info.value.rule == "non_negative"


class TestDaysPastDue:
    BALANCES = (bal(1, DUE1, "100.00"), bal(2, DUE2, "100.00"))

    @pytest.mark.parametrize(("days_after_due", "dpd"), [(-5, 0), (0, 0), (1, 1), (30, 30), (31, 31), (181, 181)])
    def test_counts_days_since_the_oldest_unpaid_due_date(self, days_after_due: int, dpd: int) -> None:
        assert days_past_due(balances=self.BALANCES, as_of=DUE1 + timedelta(days=days_after_due)) == dpd

    def test_a_paid_oldest_installment_moves_the_count_to_the_next(self) -> None:
        balances = (bal(1, DUE1, "0"), bal(2, DUE2, "100.00"))
        assert days_past_due(balances=balances, as_of=date(2026, 3, 10)) == 10

    def test_a_partly_paid_installment_still_counts_from_its_own_due_date(self) -> None:
        balances = (bal(1, DUE1, "0.01"), bal(2, DUE2, "100.00"))
        assert days_past_due(balances=balances, as_of=date(2026, 3, 10)) == 38

    def test_an_unpaid_penalty_alone_keeps_the_installment_overdue(self) -> None:
        balances = (bal(1, DUE1, "0", penalties="1.00"), bal(2, DUE2, "100.00"))
        assert days_past_due(balances=balances, as_of=date(2026, 2, 10)) == 10

    def test_a_fully_paid_loan_is_never_past_due(self) -> None:
        balances = (bal(1, DUE1, "0"), bal(2, DUE2, "0"))
        assert days_past_due(balances=balances, as_of=date(2027, 1, 1)) == 0


class TestLatePenalty:
    def test_is_the_percent_of_the_outstanding_amount_rounded_half_up(self) -> None:
        assert late_penalty_amount(outstanding=Decimal("110.10"), late_penalty_percent=Decimal("5")) == Decimal("5.51")
        assert late_penalty_amount(outstanding=Decimal("0.10"), late_penalty_percent=Decimal("5")) == Decimal("0.01")
        assert late_penalty_amount(outstanding=Decimal("0.09"), late_penalty_percent=Decimal("5")) == Decimal("0.00")

    @pytest.mark.parametrize(("days_late", "due"), [(0, False), (3, False), (4, True)])
    def test_is_due_only_when_more_than_the_grace_days_late(self, days_late: int, due: bool) -> None:
        assert penalty_is_due(due_date=DUE1, as_of=DUE1 + timedelta(days=days_late), penalty_grace_days=3) is due
