"""Repayment allocation over installment balances: a pure, fast function.

Order (DOMAIN.md "Repayments"; Fineract's default "penalties, fees, interest,
principal" strategy, applied installment by installment):

1. every installment due on or before the payment date, oldest first — within
   each installment penalties → fees → interest → principal;
2. then the *current* installment (the first one due after the payment date),
   in the same component order;
3. then paying ahead: what is left goes to the **principal only** of the
   following installments, in due-date order. Their scheduled interest and fees
   stay due on their own dates (Fineract without interest recalculation:
   prepaying principal does not re-amortise future interest).

An allocation never exceeds what is outstanding: anything left over is
returned as ``unallocated`` (the loan refuses such a payment as an overpayment).

``payoff_amount`` is consistent with this order: the payment that exactly
clears all principal is everything due to date, plus the current installment
in full (its interest included, Fineract's default for loans without interest
recalculation), plus the outstanding principal of the later installments;
their interest and fees are waived on payoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class InstallmentBalance:
    """What is still outstanding on one installment, per component."""

    number: int
    due_date: date
    penalties: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.penalties + self.fees + self.interest + self.principal

    @property
    def is_paid(self) -> bool:
        return not (self.penalties or self.fees or self.interest or self.principal)


class AllocationLine(NamedTuple):
    """The part of a payment that went to one installment, per component.

    A ``NamedTuple`` (immutable, and several times cheaper to build than a
    frozen dataclass: allocation is the hot path of repayment posting).
    """

    installment_number: int
    penalties: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.penalties + self.fees + self.interest + self.principal


class RepaymentAllocation(NamedTuple):
    """A payment split per installment and component, with component totals (immutable)."""

    lines: tuple[AllocationLine, ...]
    penalties: Decimal
    fees: Decimal
    interest: Decimal
    principal: Decimal
    unallocated: Decimal

    @property
    def allocated(self) -> Decimal:
        return self.penalties + self.fees + self.interest + self.principal


def _current_index(balances: Sequence[InstallmentBalance], on: date) -> int:
    """Index of the first installment due after ``on`` (len if none)."""
    for index, balance in enumerate(balances):
        if balance.due_date > on:
            return index
    return len(balances)


def allocate_repayment(*, balances: Sequence[InstallmentBalance], amount: Decimal, on: date) -> RepaymentAllocation:
    """Split ``amount`` paid on ``on`` over ``balances`` (in due-date order).

    Returns the allocation; never mutates ``balances``. Each component gets at
    most what is outstanding on it; the rest is ``unallocated``. Amounts are
    cent-exact Decimals, so no rounding happens here.
    """
    remaining = amount
    lines: list[AllocationLine] = []
    tot_pen = tot_fee = tot_int = tot_pri = _ZERO
    full = True  # still within the due installments and the current one (all components)
    for b in balances:
        if remaining <= 0:
            break
        if full:
            # The first installment due after ``on`` is the current one: the last paid in full order.
            full = b.due_date <= on
            pen = b.penalties if b.penalties <= remaining else remaining
            remaining -= pen
            fee = b.fees if b.fees <= remaining else remaining
            remaining -= fee
            intr = b.interest if b.interest <= remaining else remaining
            remaining -= intr
        else:
            pen = fee = intr = _ZERO
        pri = b.principal if b.principal <= remaining else remaining
        remaining -= pri
        if pen or fee or intr or pri:
            lines.append(AllocationLine(b.number, pen, fee, intr, pri))
            tot_pen += pen
            tot_fee += fee
            tot_int += intr
            tot_pri += pri
    return RepaymentAllocation(tuple(lines), tot_pen, tot_fee, tot_int, tot_pri, remaining)


def payoff_amount(*, balances: Sequence[InstallmentBalance], on: date) -> Decimal:
    """The amount that repays the loan in full on ``on`` (see the module docstring).

    Everything outstanding on installments due on or before ``on`` and on the
    current installment, plus the outstanding principal of later installments.
    """
    current = _current_index(balances, on)
    total = _ZERO
    for index, b in enumerate(balances):
        total += b.total if index <= current else b.principal
    return total


def apply_allocation(
    *, balances: Sequence[InstallmentBalance], allocation: RepaymentAllocation
) -> tuple[InstallmentBalance, ...]:
    """The balances left once ``allocation`` is paid (a new tuple; inputs untouched)."""
    by_number = {line.installment_number: line for line in allocation.lines}
    result: list[InstallmentBalance] = []
    for b in balances:
        line = by_number.get(b.number)
        if line is None:
            result.append(b)
        else:
            result.append(
                InstallmentBalance(
                    b.number,
                    b.due_date,
                    b.penalties - line.penalties,
                    b.fees - line.fees,
                    b.interest - line.interest,
                    b.principal - line.principal,
                )
            )
    return tuple(result)
