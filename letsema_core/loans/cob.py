"""Close of business: the daily arrears run over a tenant's loans.

DOMAIN.md: close of business for date D is idempotent — running it twice for
D changes nothing the second time. Each loan remembers the last date it was
processed for and which installments were already penalised, so a rerun (or a
restart after a crash halfway) only does what is still missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from letsema_core.loans.loan import (
    ArrearsChanged,
    CloseOfBusinessEvent,
    Loan,
    LoanStatus,
    PenaltyCharged,
    RepaymentReallocated,
)


@dataclass(frozen=True, slots=True)
class CloseOfBusinessResult:
    """What one run did: loans processed, loans skipped (already done or not active), events."""

    as_of: date
    processed: tuple[str, ...]
    skipped: tuple[str, ...]
    events: tuple[CloseOfBusinessEvent, ...]

    @property
    def penalties_charged(self) -> tuple[PenaltyCharged, ...]:
        return tuple(e for e in self.events if isinstance(e, PenaltyCharged))

    @property
    def arrears_changes(self) -> tuple[ArrearsChanged, ...]:
        return tuple(e for e in self.events if isinstance(e, ArrearsChanged))

    @property
    def reallocations(self) -> tuple[RepaymentReallocated, ...]:
        """Repayments re-allocated by a late run's penalties (post their ``reallocation_entry``)."""
        return tuple(e for e in self.events if isinstance(e, RepaymentReallocated))


def run_close_of_business(*, loans: Iterable[Loan], as_of: date) -> CloseOfBusinessResult:
    """Run close of business for ``as_of`` over ``loans`` (mutating them) and report the changes.

    A loan is skipped when it is not active or was already processed for
    ``as_of`` or a later date; see ``Loan.close_business_day``.
    """
    processed: list[str] = []
    skipped: list[str] = []
    events: list[CloseOfBusinessEvent] = []
    for loan in loans:
        already = loan.last_close_of_business is not None and loan.last_close_of_business >= as_of
        if already or loan.status is not LoanStatus.ACTIVE:
            skipped.append(loan.loan_id)
            continue
        events.extend(loan.close_business_day(as_of=as_of))
        processed.append(loan.loan_id)
    return CloseOfBusinessResult(as_of=as_of, processed=tuple(processed), skipped=tuple(skipped), events=tuple(events))
