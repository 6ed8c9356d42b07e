"""Registry account events built from loans, and the relay that publishes the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letsema_core.credit.keys import KeyedHasher
from letsema_core.credit.registry import (
    AccountEventType,
    CreditAccountEvent,
    CreditAccountStatus,
    CreditRegistry,
)
from letsema_core.errors import ValidationError
from letsema_core.loans import Loan, LoanStatus
from letsema_core.ports import BorrowerRepository, Outbox, ProductRepository
from letsema_core.services.context import Tenant


def account_event_for(
    *,
    loan: Loan,
    event_type: AccountEventType,
    on: date,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    hasher: KeyedHasher,
    outbox: Outbox,
) -> CreditAccountEvent:
    """Build the loan's next registry event (state after the change) and append it to the outbox.

    The sequence is the outbox's last one for the loan plus one. The reported balance is the
    outstanding principal (for a written-off loan: the principal written off); DPD is as of ``on``
    for an active loan, the last close of business's for a written-off one, 0 for a closed one.
    Raises ``ValidationError`` (``borrower_id``) for a loan without a borrower.
    """
    if loan.borrower_id is None or loan.product_id is None:
        raise ValidationError(
            "a loan shared with the registry needs its borrower and product", field="loan", rule="required"
        )
    if loan.status is LoanStatus.WRITTEN_OFF:
        balance = sum((b.principal for b in loan.balances), Decimal("0.00"))
        dpd = loan.days_past_due
    else:
        balance = loan.outstanding_principal
        dpd = loan.days_past_due_on(as_of=on)
    return account_event(
        facts=RegistryAccountFacts(
            loan_id=loan.loan_id,
            borrower_id=loan.borrower_id,
            product_id=loan.product_id,
            opened_on=loan.disbursed_on,
            principal=loan.principal,
            outstanding_balance=balance,
            installment_amount=loan.installment_amount,
            status=loan.status,
            days_past_due=dpd,
        ),
        event_type=event_type,
        on=on,
        tenant=tenant,
        borrowers=borrowers,
        products=products,
        hasher=hasher,
        outbox=outbox,
    )


@dataclass(frozen=True, slots=True)
class RegistryAccountFacts:
    """What a registry account event reports about a loan (``account_event_for`` derives them from the
    aggregate; close of business's set-based path reads them from the stored loan row)."""

    loan_id: str
    borrower_id: str
    product_id: str
    opened_on: date
    principal: Decimal
    outstanding_balance: Decimal
    installment_amount: Decimal
    status: LoanStatus
    days_past_due: int


def account_event(
    *,
    facts: RegistryAccountFacts,
    event_type: AccountEventType,
    on: date,
    tenant: Tenant,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    hasher: KeyedHasher,
    outbox: Outbox,
) -> CreditAccountEvent:
    """The loan's next registry event from ``facts``, appended to the outbox (sequence: the outbox's last
    one for the loan plus one)."""
    key = borrowers.registry_key(facts.borrower_id, hasher)
    product = products.get(facts.product_id)
    event = CreditAccountEvent.create(
        event_type=event_type,
        country=tenant.country,
        borrower_key=key,
        lender_mfi=tenant.mfi_id,
        loan_ref=facts.loan_id,
        sequence=outbox.last_sequence(lender_mfi=tenant.mfi_id, loan_ref=facts.loan_id) + 1,
        as_of=on,
        opened_on=facts.opened_on,
        principal=facts.principal,
        outstanding_balance=facts.outstanding_balance,
        installment_amount=facts.installment_amount,
        repayment_frequency=product.repayment_frequency.value,
        status=CreditAccountStatus(facts.status.value),
        days_past_due=facts.days_past_due,
    )
    outbox.append(event)
    return event


def relay_outbox(*, outbox: Outbox, registry: CreditRegistry, limit: int = 100) -> int:
    """Publish up to ``limit`` pending events to the registry, then mark them published; returns how many.

    Safe to repeat and to run after a crash: the registry applies a repeated event idempotently. An
    error from the registry propagates and leaves the events pending for the next run.
    """
    events = outbox.pending(limit=limit)
    for event in events:
        registry.record_account_event(event)
    outbox.mark_published([e.event_id for e in events])
    return len(events)
