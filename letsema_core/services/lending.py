"""Lending: quote, apply, assess, decide (maker-checker) and disburse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from letsema_core.borrowers import Borrower
from letsema_core.credit.keys import KeyedHasher
from letsema_core.credit.registry import AccountEventType, CreditAccountEvent, CreditRegistry, monthly_equivalent
from letsema_core.credit.report import CreditAssessment
from letsema_core.credit.report import assess_application as assess_credit
from letsema_core.errors import DomainError
from letsema_core.loans import (
    ApplicationStatus,
    IllegalApplicationTransition,
    Loan,
    LoanApplication,
    Role,
    disburse_application,
)
from letsema_core.money import MoneyLike
from letsema_core.ports import (
    ApplicationRepository,
    BorrowerRepository,
    ConsentRepository,
    Journal,
    LoanRepository,
    Outbox,
    ProductRepository,
)
from letsema_core.schedules import (
    KeyFactStatement,
    LoanTerms,
    RepaymentSchedule,
    generate_schedule,
    key_fact_statement_for,
)
from letsema_core.services.bookkeeping import post_ledger_entries
from letsema_core.services.context import Tenant
from letsema_core.services.credit import pull_credit_report
from letsema_core.services.registry_events import account_event_for


class CreditCheckRequired(DomainError):
    """The product makes a credit check mandatory and the application has not been assessed."""

    code = "credit_check_required"
    http_status = 422


@dataclass(frozen=True, slots=True)
class Quote:
    """What a loan on a product would cost, before applying: terms, schedule and Key Fact Statement."""

    terms: LoanTerms
    schedule: RepaymentSchedule
    key_facts: KeyFactStatement


@dataclass(frozen=True, slots=True)
class Disbursement:
    """The loan opened and the ``account_opened`` event appended to the outbox."""

    loan: Loan
    registry_event: CreditAccountEvent


def quote(
    *,
    product_id: str,
    principal: MoneyLike,
    term_in_periods: int,
    disbursement_date: date,
    products: ProductRepository,
    first_repayment_date: date | None = None,
) -> Quote:
    """Schedule and Key Fact Statement of a loan on a product; stores nothing.

    Raises ``NotFound`` for an unknown product, ``PrincipalOutOfRange`` / ``TermOutOfRange`` and the
    ``ValidationError``s of ``LoanTerms``.
    """
    terms = products.get(product_id).terms_for(
        principal=principal,
        term_in_periods=term_in_periods,
        disbursement_date=disbursement_date,
        first_repayment_date=first_repayment_date,
    )
    schedule = generate_schedule(terms)
    return Quote(terms=terms, schedule=schedule, key_facts=key_fact_statement_for(terms=terms, schedule=schedule))


def create_application(
    *,
    application_id: str,
    borrower_id: str,
    product_id: str,
    principal: MoneyLike,
    term_in_periods: int,
    created_by: str,
    on: date,
    applications: ApplicationRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
) -> LoanApplication:
    """A draft application, its amount and term checked against the product.

    Raises ``NotFound`` (borrower, product), ``PrincipalOutOfRange`` / ``TermOutOfRange``.
    """
    borrowers.get(borrower_id)
    terms = products.get(product_id).terms_for(
        principal=principal, term_in_periods=term_in_periods, disbursement_date=on
    )
    application = LoanApplication(
        application_id=application_id,
        borrower_id=borrower_id,
        product_id=product_id,
        principal=terms.principal,
        term_in_periods=terms.term_in_periods,
        created_by=created_by,
        created_on=on,
    )
    applications.add(application)
    return application


def submit_application(
    *, application_id: str, by: str, on: date, applications: ApplicationRepository
) -> LoanApplication:
    """draft → submitted. Raises ``NotFound`` and ``IllegalApplicationTransition``."""
    application = applications.get(application_id)
    application.submit(by=by, on=on)
    applications.save(application)
    return application


def assess_application(
    *,
    application_id: str,
    user: str,
    at: datetime,
    inquiry_id: str,
    tenant: Tenant,
    applications: ApplicationRepository,
    borrowers: BorrowerRepository,
    products: ProductRepository,
    consents: ConsentRepository,
    registry: CreditRegistry,
    hasher: KeyedHasher,
) -> CreditAssessment:
    """Pull the borrower's credit report (an inquiry, consent required) and assess the application.

    The new loan's installment is the Key Fact Statement's regular installment per month; the DTI limit
    is the product's. The assessment is recorded with the application. Raises ``NotFound``,
    ``IllegalApplicationTransition`` unless submitted, ``ConsentRequired``.
    """
    application = applications.get(application_id)
    if application.status is not ApplicationStatus.SUBMITTED:
        raise IllegalApplicationTransition(
            entity="loan application", from_state=application.status.value, action="assess"
        )
    product = products.get(application.product_id)
    borrower: Borrower = borrowers.get(application.borrower_id)
    report = pull_credit_report(
        borrower_id=borrower.id,
        purpose="new_application",
        user=user,
        at=at,
        inquiry_id=inquiry_id,
        tenant=tenant,
        borrowers=borrowers,
        consents=consents,
        registry=registry,
        hasher=hasher,
    )
    proposed = quote(
        product_id=application.product_id,
        principal=application.principal,
        term_in_periods=application.term_in_periods,
        disbursement_date=at.date(),
        products=products,
    )
    assessment = assess_credit(
        report=report,
        monthly_income=borrower.monthly_income,
        new_monthly_installment=monthly_equivalent(
            installment_amount=proposed.key_facts.installment_amount,
            repayment_frequency=product.repayment_frequency.value,
        ),
        max_debt_to_income_ratio=product.max_debt_to_income_ratio,
        rules=tenant.stacking_rules,
    )
    applications.record_assessment(application_id, assessment)
    return assessment


def approve_application(
    *,
    application_id: str,
    by: str,
    role: Role | str,
    on: date,
    applications: ApplicationRepository,
    products: ProductRepository,
) -> LoanApplication:
    """submitted → approved by a different user with enough authority (maker-checker, approval limit).

    Raises ``NotFound``, ``CreditCheckRequired`` (product's credit check mandatory and no assessment),
    ``IllegalApplicationTransition``, ``MakerCheckerViolation``, ``NotPermittedToApprove``,
    ``ApprovalLimitExceeded``; nothing is stored when any is raised.
    """
    application = applications.get(application_id)
    product = products.get(application.product_id)
    if product.credit_check_mandatory and applications.latest_assessment(application_id) is None:
        raise CreditCheckRequired(
            "this product requires a credit assessment before approval",
            details={"application_id": application_id, "rule": "credit_check_mandatory"},
        )
    application.approve(by=by, role=role, on=on, approval_limit=product.approval_limit)
    applications.save(application)
    return application


def reject_application(
    *,
    application_id: str,
    by: str,
    role: Role | str,
    on: date,
    reasons: tuple[str, ...],
    applications: ApplicationRepository,
) -> LoanApplication:
    """submitted → rejected with reasons. Raises as ``LoanApplication.reject`` does, and ``NotFound``."""
    application = applications.get(application_id)
    application.reject(by=by, role=role, on=on, reasons=reasons)
    applications.save(application)
    return application


def disburse_loan(
    *,
    application_id: str,
    loan_id: str,
    by: str,
    on: date,
    tenant: Tenant,
    applications: ApplicationRepository,
    products: ProductRepository,
    borrowers: BorrowerRepository,
    loans: LoanRepository,
    outbox: Outbox,
    hasher: KeyedHasher,
    journal: Journal,
    first_repayment_date: date | None = None,
) -> Disbursement:
    """Open the loan of an approved application on ``on``, post its journal entry, queue ``account_opened``.

    The schedule is generated from the product's terms for the approved principal and term, disbursed
    on ``on``; the penalty terms are copied from the product. Raises ``NotFound``,
    ``IllegalApplicationTransition`` unless approved, and the ``ValidationError``s of the terms.
    """
    application = applications.get(application_id)
    product = products.get(application.product_id)
    terms = product.terms_for(
        principal=application.principal,
        term_in_periods=application.term_in_periods,
        disbursement_date=on,
        first_repayment_date=first_repayment_date,
    )
    loan = disburse_application(
        application=application,
        loan_id=loan_id,
        schedule=generate_schedule(terms),
        on=on,
        by=by,
        late_penalty_percent=product.late_penalty_percent,
        penalty_grace_days=product.penalty_grace_days,
    )
    loans.add(loan)
    applications.save(application)
    post_ledger_entries(loan_id=loan_id, transaction=loan.transactions[0], on=on, journal=journal)
    event = account_event_for(
        loan=loan,
        event_type=AccountEventType.ACCOUNT_OPENED,
        on=on,
        tenant=tenant,
        borrowers=borrowers,
        products=products,
        hasher=hasher,
        outbox=outbox,
    )
    return Disbursement(loan=loan, registry_event=event)
