"""Property: whatever happens to a loan (repayments in any date order, reversals, late closes of business),
storing it after every step and reading it back gives the same loan as never storing it at all."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from letsema_core.errors import DomainError
from letsema_core.loans import Loan
from tests.contracts.loan_repository import make_loan
from tests.integration.test_api_lending_support import empty, rolled_back, seed_contract_parties

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["empty", "rolled_back"]  # fixtures

START = date(2026, 1, 5)

repayment = st.tuples(
    st.just("repay"),
    st.integers(min_value=0, max_value=300),
    st.decimals(min_value="0.01", max_value="2500.00", places=2),
)
reversal = st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=9))
close = st.tuples(st.just("close"), st.integers(min_value=0, max_value=300), st.none())
operations = st.lists(st.one_of(repayment, reversal, close), min_size=1, max_size=8)


def apply(loan: Loan, operation: tuple[str, int, Any]) -> None:
    """One step on the aggregate; a step the core refuses changes nothing (as the API would answer 4xx)."""
    kind, days, value = operation
    on = START + timedelta(days=days)
    try:
        if kind == "repay":
            loan.record_repayment(on=on, amount=value)
        elif kind == "reverse":
            repayments = loan.active_repayments()
            if repayments:
                target = repayments[value % len(repayments)]
                loan.reverse_repayment(transaction_id=target.transaction_id, on=max(on, target.on))
        else:
            loan.close_business_day(as_of=on)
    except DomainError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(steps=operations)
def test_a_stored_loan_always_equals_the_loan_in_memory(empty: None, steps: list[tuple[str, int, Any]]) -> None:
    from django.db import transaction
    from letsema_api.lending.repositories import DjangoLoanRepository

    with transaction.atomic():
        seed_contract_parties()
        DjangoLoanRepository().add(make_loan())
        in_memory = make_loan()
        for step in steps:
            stored = DjangoLoanRepository().get("L-1")
            apply(stored, step)
            DjangoLoanRepository().save(stored)
            apply(in_memory, step)
            again = DjangoLoanRepository().get("L-1")
            assert again.state() == in_memory.state()
            assert again.statement() == in_memory.statement()
            assert again.transactions == in_memory.transactions
        transaction.set_rollback(True)
