"""Loan servicing: repayments (idempotent), reversals, write-off and the daily close of business."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letsema_core.credit.keys import KeyedHasher
from letsema_core.credit.registry import AccountEventType
from letsema_core.loans import (
    ArrearsBucket,
    ArrearsChanged,
    CloseOfBusinessResult,
    LoanStatus,
    LoanTransaction,
    RepaymentReallocated,
    RepaymentResult,
)
from letsema_core.loans import run_close_of_business as close_loans
from letsema_core.ports import BorrowerRepository, Journal, LoanRepository, Outbox, ProductRepository
from letsema_core.services.bookkeeping import post_ledger_entries, post_reallocations
from letsema_core.services.context import Tenant
from letsema_core.services.registry_events import RegistryAccountFacts, account_event, account_event_for

# The registry learns of arrears when the loan changes bucket and, because DEFAULT_HISTORY fires at 90
# days past due while the 91-180 bucket starts at 91, also when the loan reaches 90 days.
REGISTRY_DPD_MILESTONES = (90,)


def registry_update_due(*, days_past_due_before: int, days_past_due: int, bucket_changed: bool) -> bool:
    """Whether close of business queues the loan's ``arrears_changed`` registry event: its bucket changed or
    it reached a DPD milestone (``REGISTRY_DPD_MILESTONES``)."""
    return bucket_changed or any(days_past_due_before < m <= days_past_due for m in REGISTRY_DPD_MILESTONES)


def record_repayment(
    *,
    loan_id: str,
    amount: Decimal | str | int,
    on: date,
    tenant: Tenant,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
    journal: Journal,
    idempotency_key: str | None = None,
    external_ref: str | None = None,
    transaction_id: str | None = None,
) -> RepaymentResult:
    """Post a repayment with its journal entries and queue the registry update (``repayment``, or
    ``closed`` when it repays the loan). A backdated payment also posts the re-allocation entries of the
    later repayments it moved.

    Idempotent by ``idempotency_key`` (the API header or the mobile-money receipt number): a repeat with
    the same amount and date returns the original transaction with ``duplicate=True``, stores nothing
    and queues nothing. Raises ``NotFound``, ``IdempotencyKeyReused``, ``OverpaymentRefused`` (payoff in
    details), ``IllegalLoanTransition`` and ``ValidationError`` as ``Loan.record_repayment`` does.
    """
    loan = loans.get(loan_id)
    result = loan.record_repayment(
        on=on, amount=amount, idempotency_key=idempotency_key, external_ref=external_ref, transaction_id=transaction_id
    )
    if result.duplicate:
        return result
    loans.save(loan)
    post_ledger_entries(
        loan_id=loan_id, transaction=result.transaction, reallocated=result.reallocated, on=on, journal=journal
    )
    account_event_for(
        loan=loan,
        event_type=AccountEventType.CLOSED if loan.status is LoanStatus.CLOSED else AccountEventType.REPAYMENT,
        on=on,
        tenant=tenant,
        borrowers=borrowers,
        products=products,
        hasher=hasher,
        outbox=outbox,
    )
    return result


def reverse_repayment(
    *,
    transaction_id: str,
    on: date,
    tenant: Tenant,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
    journal: Journal,
    reversal_id: str | None = None,
) -> RepaymentResult:
    """Reverse a repayment (a mirror transaction and journal entry; later payments replayed and their
    re-allocations posted) and queue ``repayment_reversed``.

    Raises ``NotFound``, ``RepaymentAlreadyReversed``, ``IllegalLoanTransition``, ``ValidationError``.
    """
    loan = loans.get_by_transaction(transaction_id)
    result = loan.reverse_repayment(transaction_id=transaction_id, on=on, reversal_id=reversal_id)
    loans.save(loan)
    post_ledger_entries(
        loan_id=loan.loan_id, transaction=result.transaction, reallocated=result.reallocated, on=on, journal=journal
    )
    account_event_for(
        loan=loan,
        event_type=AccountEventType.REPAYMENT_REVERSED,
        on=on,
        tenant=tenant,
        borrowers=borrowers,
        products=products,
        hasher=hasher,
        outbox=outbox,
    )
    return result


def write_off_loan(
    *,
    loan_id: str,
    on: date,
    tenant: Tenant,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
    journal: Journal,
) -> LoanTransaction:
    """Write off the loan's outstanding principal, post the loss and queue ``written_off``.

    Raises ``NotFound`` and as ``Loan.write_off``.
    """
    loan = loans.get(loan_id)
    transaction = loan.write_off(on=on)
    loans.save(loan)
    post_ledger_entries(loan_id=loan_id, transaction=transaction, on=on, journal=journal)
    account_event_for(
        loan=loan,
        event_type=AccountEventType.WRITTEN_OFF,
        on=on,
        tenant=tenant,
        borrowers=borrowers,
        products=products,
        hasher=hasher,
        outbox=outbox,
    )
    return transaction


def run_close_of_business(
    *,
    as_of: date,
    tenant: Tenant,
    loans: LoanRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
    journal: Journal,
) -> CloseOfBusinessResult:
    """Close of business for ``as_of`` over the active loans; post re-allocations, queue ``arrears_changed``.

    A late run (repayments dated after ``as_of`` already posted) re-allocates those repayments to the
    penalties it charges: each change posts its ``reallocation_entry`` (cash untouched, money moved from
    principal or interest to penalty income; dated on the repayment's date). A loan's registry event is queued when
    its arrears bucket changed or it reached a DPD milestone (90). Idempotent per date: loans already
    processed for ``as_of`` are skipped, so a second run stores, posts and queues nothing; after a crash
    halfway, a rerun finishes the rest.
    """
    active = list(loans.active())
    before = {loan.loan_id: loan.days_past_due for loan in active}
    result = close_loans(loans=active, as_of=as_of)
    processed = set(result.processed)
    changed_bucket = {e.loan_id for e in result.arrears_changes}
    reallocations: dict[str, list[RepaymentReallocated]] = {}
    for event in result.reallocations:
        reallocations.setdefault(event.loan_id, []).append(event)
    for loan in active:
        if loan.loan_id not in processed:
            continue
        loans.save(loan)
        for event in reallocations.get(loan.loan_id, ()):
            post_reallocations(
                loan_id=loan.loan_id,
                reallocated=[event.reallocation],
                caused_by=event.caused_by,
                on=event.on,
                journal=journal,
            )
        if registry_update_due(
            days_past_due_before=before[loan.loan_id],
            days_past_due=loan.days_past_due,
            bucket_changed=loan.loan_id in changed_bucket,
        ):
            account_event_for(
                loan=loan,
                event_type=AccountEventType.ARREARS_CHANGED,
                on=as_of,
                tenant=tenant,
                borrowers=borrowers,
                products=products,
                hasher=hasher,
                outbox=outbox,
            )
    return result


@dataclass(frozen=True, slots=True)
class StampedArrears:
    """A loan whose close of business an adapter applied set-based because the day changed only its DPD and
    arrears bucket (no penalty fell due, nothing dated after the day): what ``Loan.close_business_day`` would
    have reported. ``facts`` are the loan's registry facts after the day (``days_past_due`` the new DPD)."""

    facts: RegistryAccountFacts
    days_past_due_before: int
    bucket_before: ArrearsBucket
    bucket: ArrearsBucket


def close_of_business_events(
    *,
    stamped: Sequence[StampedArrears],
    as_of: date,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
) -> list[ArrearsChanged]:
    """The ``ArrearsChanged`` events of loans stamped set-based, and their registry events queued by the same
    rule as ``run_close_of_business`` (``registry_update_due``)."""
    events: list[ArrearsChanged] = []
    for loan in stamped:
        changed = loan.bucket is not loan.bucket_before
        if changed:
            events.append(
                ArrearsChanged(loan.facts.loan_id, loan.bucket_before, loan.bucket, loan.facts.days_past_due, as_of)
            )
        if registry_update_due(
            days_past_due_before=loan.days_past_due_before,
            days_past_due=loan.facts.days_past_due,
            bucket_changed=changed,
        ):
            account_event(
                facts=loan.facts,
                event_type=AccountEventType.ARREARS_CHANGED,
                on=as_of,
                tenant=tenant,
                borrowers=borrowers,
                products=products,
                hasher=hasher,
                outbox=outbox,
            )
    return events
