"""Disbursement: an approved application becomes an active ``Loan``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from letsema_core.errors import ValidationError
from letsema_core.loans.application import ApplicationStatus, IllegalApplicationTransition, LoanApplication
from letsema_core.loans.loan import Loan
from letsema_core.schedules.types import RepaymentSchedule


def disburse_application(
    *,
    application: LoanApplication,
    loan_id: str,
    schedule: RepaymentSchedule,
    on: date,
    by: str,
    late_penalty_percent: Decimal | str | int = Decimal("0.00"),
    penalty_grace_days: int = 0,
) -> Loan:
    """Open the loan for an approved application and mark the application disbursed.

    The loan's principal, up-front fee and net disbursed amount come from
    ``schedule`` (built for this application's terms, first due date after
    ``on``); the penalty terms are copied from the product so later product
    edits do not change a running loan. Raises ``IllegalApplicationTransition``
    unless the application is approved, ``ValidationError`` (rule
    ``principal_mismatch``) when the schedule lends another amount, and the
    ``Loan`` constructor's ``ValidationError``s. The application is unchanged
    when anything is raised.
    """
    if application.status is not ApplicationStatus.APPROVED:
        raise IllegalApplicationTransition(
            entity="loan application", from_state=application.status.value, action="disburse"
        )
    if schedule.principal != application.principal:
        raise ValidationError(
            "the schedule's principal differs from the approved principal",
            field="schedule",
            rule="principal_mismatch",
            approved=str(application.principal),
            scheduled=str(schedule.principal),
        )
    loan = Loan(
        loan_id=loan_id,
        schedule=schedule,
        disbursed_on=on,
        borrower_id=application.borrower_id,
        application_id=application.application_id,
        product_id=application.product_id,
        late_penalty_percent=late_penalty_percent,
        penalty_grace_days=penalty_grace_days,
    )
    application.mark_disbursed(loan_id=loan_id, by=by, on=on)
    return loan
