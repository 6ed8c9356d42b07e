"""Hypothesis properties of the registry merge rule, event payloads and report totals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letsema_core.credit import (
    CreditAccountEvent,
    CreditFile,
    FlagCode,
    apply_account_event,
    build_credit_report,
    monthly_equivalent,
)
from letsema_core.credit.registry import CreditAccount
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats trapped)
from tests.contracts.credit_registry import account_event

pytestmark = pytest.mark.unit

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)


@st.composite
def event_fields(draw: st.DrawFn, *, sequence: int) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "event_type": draw(st.sampled_from(["repayment", "arrears_changed", "written_off", "closed"])),
        "as_of": date(2025, 1, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=700))),
        "outstanding_balance": draw(cents),
        "installment_amount": draw(cents),
        "status": draw(st.sampled_from(["active", "closed", "written_off"])),
        "days_past_due": draw(st.integers(min_value=0, max_value=400)),
    }


@st.composite
def event_histories(draw: st.DrawFn) -> list[CreditAccountEvent]:
    count = draw(st.integers(min_value=1, max_value=6))
    sequences = draw(st.lists(st.integers(min_value=1, max_value=50), min_size=count, max_size=count, unique=True))
    return [account_event(**draw(event_fields(sequence=s))) for s in sequences]


def replay(events: list[CreditAccountEvent]) -> CreditAccount:
    account = None
    for event in events:
        account = apply_account_event(account, event)
    assert account is not None
    return account


class TestMergeRuleProperties:
    @settings(max_examples=200)
    @given(events=event_histories(), data=st.data())
    def test_any_order_and_any_repeats_give_the_same_account(self, events: list[CreditAccountEvent], data: Any) -> None:
        shuffled = data.draw(st.permutations(events))
        repeated = data.draw(st.lists(st.sampled_from(events), max_size=4))
        assert replay([*shuffled, *repeated]) == replay(events)

    @settings(max_examples=200)
    @given(events=event_histories())
    def test_state_is_the_newest_events_and_history_keeps_the_worst(self, events: list[CreditAccountEvent]) -> None:
        account = replay(events)
        newest = max(events, key=lambda e: e.sequence)
        assert (account.outstanding_balance, account.status, account.days_past_due) == (
            newest.outstanding_balance,
            newest.status,
            newest.days_past_due,
        )
        assert account.worst_days_past_due == max(e.days_past_due for e in events)
        assert account.worst_days_past_due == max(dpd for _, dpd in account.dpd_by_month)


class TestPayloadProperties:
    @settings(max_examples=200)
    @given(fields=event_fields(sequence=3), frequency=st.sampled_from(["weekly", "fortnightly", "monthly"]))
    def test_payload_round_trips(self, fields: dict[str, Any], frequency: str) -> None:
        event = account_event(**fields, repayment_frequency=frequency)
        assert CreditAccountEvent.from_dict(event.to_dict()) == event


class TestMonthlyEquivalentProperties:
    @settings(max_examples=300)
    @given(amount=cents, frequency=st.sampled_from([("weekly", 52), ("fortnightly", 26), ("monthly", 12)]))
    def test_is_within_half_a_cent_of_the_exact_value(self, amount: Decimal, frequency: tuple[str, int]) -> None:
        name, per_year = frequency
        monthly = monthly_equivalent(installment_amount=amount, repayment_frequency=name)
        assert abs(monthly * 12 - amount * per_year) <= Decimal("0.06")
        assert monthly == monthly.quantize(Decimal("0.01"))


class TestReportProperties:
    @settings(max_examples=150)
    @given(
        accounts=st.lists(
            st.tuples(st.sampled_from(["a", "b", "c", "me"]), cents, st.sampled_from(["active", "closed"])),
            max_size=8,
        )
    )
    def test_totals_add_up_and_the_elsewhere_flag_matches_its_count(
        self, accounts: list[tuple[str, Decimal, str]]
    ) -> None:
        built = [
            apply_account_event(
                None, account_event(lender_mfi=mfi, loan_ref=f"L-{n}", outstanding_balance=balance, status=status)
            )
            for n, (mfi, balance, status) in enumerate(accounts)
        ]
        report = build_credit_report(
            credit_file=CreditFile(country="LS", borrower_key="k", accounts=tuple(built), inquiries=(), disputes=()),
            as_of=datetime(2026, 6, 1, tzinfo=UTC),
            inquiring_mfi="me",
        )
        active = [(mfi, balance) for mfi, balance, status in accounts if status == "active"]
        assert report.totals.active_loans == len(active)
        assert report.totals.total_outstanding == sum((b for _, b in active), Decimal("0.00"))
        elsewhere = sum(1 for mfi, _ in active if mfi != "me")
        assert report.has_flag(FlagCode.ACTIVE_LOANS_ELSEWHERE) is (elsewhere >= 2)
