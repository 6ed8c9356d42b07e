"""Loan applications: their lifecycle and the approval policy (maker-checker, limits).

Lifecycle (DOMAIN.md "Loan lifecycle")::

    draft ──submit──► submitted ──approve──► approved ──disburse──► disbursed
                          │  └──reject───► rejected
                          └──withdraw──► withdrawn ◄──withdraw── approved

Every other move raises ``IllegalApplicationTransition`` (code
``illegal_application_transition``, HTTP 409) naming the state and the action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from letsema_core.errors import DomainError, InvalidTransition, ValidationError
from letsema_core.money import to_decimal


class Role(StrEnum):
    """A tenant user's role; see DOMAIN.md "Loan lifecycle" for what each may do."""

    MFI_ADMIN = "mfi_admin"
    BRANCH_MANAGER = "branch_manager"
    LOAN_OFFICER = "loan_officer"
    AUDITOR = "auditor"
    INTEGRATION = "integration"


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DISBURSED = "disbursed"


class IllegalApplicationTransition(InvalidTransition):
    """The application's status does not allow the requested action."""

    code = "illegal_application_transition"


class MakerCheckerViolation(DomainError):
    """The would-be approver created or submitted the application (four-eyes rule)."""

    code = "maker_checker_violation"
    http_status = 403


class NotPermittedToApprove(DomainError):
    """The role may never approve or reject applications (loan officer, auditor, integration)."""

    code = "not_permitted_to_approve"
    http_status = 403


class ApprovalLimitExceeded(DomainError):
    """A branch manager tried to approve more than the product's approval limit."""

    code = "approval_limit_exceeded"
    http_status = 403


_DECIDING_ROLES = frozenset({Role.MFI_ADMIN, Role.BRANCH_MANAGER})


def check_maker_checker(*, created_by: str, submitted_by: str | None, approver_id: str) -> None:
    """Refuse an approver who created or submitted the application.

    Raises ``MakerCheckerViolation`` (details: ``approver_id`` and ``reason``).
    """
    if approver_id == created_by:
        raise MakerCheckerViolation(
            "the user who created an application cannot approve it",
            details={"approver_id": approver_id, "reason": "created_by"},
        )
    if submitted_by is not None and approver_id == submitted_by:
        raise MakerCheckerViolation(
            "the user who submitted an application cannot approve it",
            details={"approver_id": approver_id, "reason": "submitted_by"},
        )


def check_may_decide(*, role: Role | str) -> Role:
    """Return the role if it may approve or reject applications at all.

    Only ``mfi_admin`` and ``branch_manager`` decide; any other role raises
    ``NotPermittedToApprove``; a name that is no ``Role`` raises ``ValidationError``.
    """
    try:
        resolved = Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}", field="role", rule="known_role") from None
    if resolved not in _DECIDING_ROLES:
        raise NotPermittedToApprove(
            f"a {resolved.value} may not approve or reject applications", details={"role": resolved.value}
        )
    return resolved


def check_approval_authority(
    *, role: Role | str, amount: Decimal | str | int, approval_limit: Decimal | str | int | None
) -> None:
    """Refuse an approval the role is not allowed to give.

    ``mfi_admin`` approves any amount; ``branch_manager`` approves up to and
    including ``approval_limit`` (``None`` means the product sets no limit);
    every other role raises ``NotPermittedToApprove``. Above the limit raises
    ``ApprovalLimitExceeded`` with ``amount`` and ``approval_limit`` in details.
    """
    resolved = check_may_decide(role=role)
    if resolved is Role.MFI_ADMIN or approval_limit is None:
        return
    amount_d = to_decimal(amount, field="amount")
    limit_d = to_decimal(approval_limit, field="approval_limit")
    if amount_d > limit_d:
        raise ApprovalLimitExceeded(
            f"a branch manager may approve up to {limit_d}, not {amount_d}",
            details={"role": resolved.value, "amount": str(amount_d), "approval_limit": str(limit_d)},
        )


@dataclass
class LoanApplication:
    """A borrower's request for a loan of one product, from draft to decision.

    Mutated only through its methods, each of which checks the current status
    first. ``principal`` is a Decimal (built from a string or Decimal, never a float).
    """

    application_id: str
    borrower_id: str
    product_id: str
    principal: Decimal
    term_in_periods: int
    created_by: str
    created_on: date
    status: ApplicationStatus = ApplicationStatus.DRAFT
    submitted_by: str | None = None
    submitted_on: date | None = None
    decided_by: str | None = None
    decided_on: date | None = None
    rejection_reasons: tuple[str, ...] = ()
    withdrawn_on: date | None = None
    loan_id: str | None = None
    history: list[tuple[date, ApplicationStatus, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.principal = to_decimal(self.principal, field="principal")
        if self.principal <= 0:
            raise ValidationError("principal must be positive", field="principal", rule="positive")
        if self.term_in_periods <= 0:
            raise ValidationError("term_in_periods must be positive", field="term_in_periods", rule="positive")

    def _require(self, action: str, *allowed: ApplicationStatus) -> None:
        if self.status not in allowed:
            raise IllegalApplicationTransition(entity="loan application", from_state=self.status.value, action=action)

    def _move(self, to: ApplicationStatus, *, on: date, by: str) -> None:
        self.status = to
        self.history.append((on, to, by))

    def submit(self, *, by: str, on: date) -> None:
        """draft → submitted. Raises ``IllegalApplicationTransition`` from any other status."""
        self._require("submit", ApplicationStatus.DRAFT)
        self.submitted_by = by
        self.submitted_on = on
        self._move(ApplicationStatus.SUBMITTED, on=on, by=by)

    def approve(self, *, by: str, role: Role | str, on: date, approval_limit: Decimal | str | int | None) -> None:
        """submitted → approved, after the maker-checker and approval-authority checks.

        Raises ``IllegalApplicationTransition``, ``MakerCheckerViolation``,
        ``NotPermittedToApprove`` or ``ApprovalLimitExceeded``; the application is
        unchanged when any is raised.
        """
        self._require("approve", ApplicationStatus.SUBMITTED)
        check_maker_checker(created_by=self.created_by, submitted_by=self.submitted_by, approver_id=by)
        check_approval_authority(role=role, amount=self.principal, approval_limit=approval_limit)
        self.decided_by = by
        self.decided_on = on
        self._move(ApplicationStatus.APPROVED, on=on, by=by)

    def reject(self, *, by: str, role: Role | str, on: date, reasons: tuple[str, ...]) -> None:
        """submitted → rejected, with at least one reason.

        Only a deciding role (``mfi_admin``, ``branch_manager``) rejects; the
        maker-checker rule applies to rejection too (a maker withdraws instead).
        Raises ``IllegalApplicationTransition``, ``NotPermittedToApprove``,
        ``MakerCheckerViolation`` or ``ValidationError`` (rule ``required``).
        """
        self._require("reject", ApplicationStatus.SUBMITTED)
        check_may_decide(role=role)
        check_maker_checker(created_by=self.created_by, submitted_by=self.submitted_by, approver_id=by)
        if not reasons:
            raise ValidationError("a rejection needs at least one reason", field="reasons", rule="required")
        self.decided_by = by
        self.decided_on = on
        self.rejection_reasons = tuple(reasons)
        self._move(ApplicationStatus.REJECTED, on=on, by=by)

    def withdraw(self, *, by: str, on: date) -> None:
        """submitted | approved → withdrawn. Raises ``IllegalApplicationTransition`` otherwise."""
        self._require("withdraw", ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED)
        self.withdrawn_on = on
        self._move(ApplicationStatus.WITHDRAWN, on=on, by=by)

    def mark_disbursed(self, *, loan_id: str, by: str, on: date) -> None:
        """approved → disbursed: the application is consumed by the loan ``loan_id``.

        Raises ``IllegalApplicationTransition`` unless the application is approved.
        """
        self._require("disburse", ApplicationStatus.APPROVED)
        self.loan_id = loan_id
        self._move(ApplicationStatus.DISBURSED, on=on, by=by)
