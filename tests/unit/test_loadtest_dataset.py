"""The benchmark's dataset builder (``loadtests/letsema_load/dataset.py``): deterministic, distinct national IDs,
and loans that are exactly what the core would hold after their history (the bench's figures mean nothing on a
book the core would not have produced)."""

from __future__ import annotations

import random
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from letsema_core.credit.registry import CreditAccountStatus
from letsema_core.loans import ArrearsBucket, LoanStatus
from letsema_core.products import LoanProduct

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "loadtests"))

from letsema_load import dataset

pytestmark = pytest.mark.unit

AS_OF = date(2026, 11, 26)


def _products() -> list[tuple[str, LoanProduct]]:
    monthly = LoanProduct(
        code="M", name="monthly", principal_min="1000.00", principal_max="100000.00", term_min=3, term_max=24,
        repayment_frequency="monthly", annual_interest_rate_percent="24", interest_method="declining_balance",
        upfront_fee_percent="2", late_penalty_percent="5", penalty_grace_days=5, approval_limit="50000.00",
        max_debt_to_income_percent="40",
    )  # fmt: skip
    weekly = LoanProduct(
        code="W", name="weekly", principal_min="500.00", principal_max="20000.00", term_min=8, term_max=52,
        repayment_frequency="weekly", annual_interest_rate_percent="30", interest_method="flat",
        upfront_fee_amount="50.00", late_penalty_percent="2", penalty_grace_days=3, approval_limit="10000.00",
        max_debt_to_income_percent="35",
    )  # fmt: skip
    return [("p-monthly", monthly), ("p-weekly", weekly)]


def _loans(n: int, seed: str = "s:loans:0") -> list[dataset.GeneratedLoan]:
    rng = random.Random(seed)
    products = _products()
    people = [dataset.person(i, rng, seed=1, as_of=AS_OF) for i in range(n)]
    return [dataset.build_loan(rng, person=p, products=products, as_of=AS_OF) for p in people]


def test_national_ids_are_distinct_twelve_digit_strings() -> None:
    ids = [dataset.national_id(i, seed=20261126) for i in range(200_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 12 and i.isdigit() for i in ids)
    assert ids[:3] != sorted(ids[:3]) or ids[3:6] != sorted(ids[3:6])  # not handed out in order


def test_the_same_seed_gives_the_same_loans() -> None:
    first, second = _loans(50), _loans(50)
    assert [g.loan.loan_id for g in first] == [g.loan.loan_id for g in second]
    assert [g.loan.balances for g in first] == [g.loan.balances for g in second]
    assert [g.loan.loan_id for g in _loans(50, seed="s:loans:1")] != [g.loan.loan_id for g in first]


def test_every_loan_is_what_the_core_would_hold_after_its_history() -> None:
    generated = _loans(400)
    buckets = Counter(g.loan.arrears_bucket for g in generated)
    for g in generated:
        loan = g.loan
        assert loan.status is LoanStatus.ACTIVE
        assert loan.last_close_of_business == AS_OF
        # The stored balances are the replay of every repayment and penalty from the schedule.
        _, balances, closed_on = loan._replay(loan.active_repayments(), loan.penalty_charges)
        assert balances == loan.balances
        assert closed_on is None
        assert loan.days_past_due == loan.days_past_due_on(as_of=AS_OF)
        paid = sum((t.principal for t in loan.active_repayments()), Decimal("0.00"))
        assert loan.outstanding_principal == loan.principal - paid
        # Penalties only on installments more than the grace days late, once each.
        numbers = [c.installment_number for c in loan.penalty_charges]
        assert len(numbers) == len(set(numbers))
    # The mix: mostly current, every arrears bucket present.
    assert buckets[ArrearsBucket.CURRENT] > 0.6 * len(generated)
    assert set(buckets) == set(ArrearsBucket)


def test_registry_events_of_a_tenant_loan_match_the_loan() -> None:
    for g in _loans(60):
        events = dataset.tenant_events(g, borrower_key="k", lender_mfi="khotso", frequency="monthly", as_of=AS_OF)
        assert events[0].sequence == 1
        assert events[0].outstanding_balance == g.loan.principal
        last = events[-1]
        assert last.outstanding_balance == g.loan.outstanding_principal
        assert last.days_past_due == g.loan.days_past_due
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))


def test_accounts_at_other_mfis_have_a_realistic_mix() -> None:
    rng = random.Random("s:others:0")
    accounts = [dataset.other_account(rng, account=i, borrower_key=f"k{i % 50}", as_of=AS_OF)[0] for i in range(2000)]
    statuses = Counter(a.status for a in accounts)
    assert set(statuses) == set(CreditAccountStatus)
    assert statuses[CreditAccountStatus.ACTIVE] > statuses[CreditAccountStatus.WRITTEN_OFF]
    assert all(a.outstanding_balance == 0 for a in accounts if a.status is CreditAccountStatus.CLOSED)
    assert {a.lender_mfi for a in accounts} == set(dataset.OTHER_LENDERS)
