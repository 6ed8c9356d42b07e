"""Loan application lifecycle and the approval policy (maker-checker, approval limits)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from letsema_core.errors import InvalidTransition, ValidationError
from letsema_core.loans import (
    ApplicationStatus,
    ApprovalLimitExceeded,
    IllegalApplicationTransition,
    LoanApplication,
    MakerCheckerViolation,
    NotPermittedToApprove,
    Role,
    check_approval_authority,
    check_maker_checker,
    disburse_application,
)
from letsema_core.loans.testing import level_schedule
from letsema_core.schedules.types import RepaymentSchedule

pytestmark = pytest.mark.unit

D1 = date(2026, 3, 2)
LIMIT = Decimal("5000.00")


def draft(principal: str = "3000.00") -> LoanApplication:
    return LoanApplication(
        application_id="A1",
        borrower_id="B1",
        product_id="P1",
        principal=Decimal(principal),
        term_in_periods=6,
        created_by="maker",
        created_on=D1,
    )


def submitted(principal: str = "3000.00", by: str = "maker") -> LoanApplication:
    app = draft(principal)
    app.submit(by=by, on=D1)
    return app


def approved() -> LoanApplication:
    app = submitted()
    app.approve(by="checker", role=Role.BRANCH_MANAGER, on=D1, approval_limit=LIMIT)
    return app


def rejected() -> LoanApplication:
    app = submitted()
    app.reject(by="checker", role=Role.BRANCH_MANAGER, on=D1, reasons=("income too low",))
    return app


def withdrawn() -> LoanApplication:
    app = submitted()
    app.withdraw(by="maker", on=D1)
    return app


def disbursed() -> LoanApplication:
    app = approved()
    app.mark_disbursed(loan_id="L1", by="cashier", on=D1)
    return app


class TestLegalTransitions:
    def test_submit_moves_draft_to_submitted_and_records_the_submitter(self) -> None:
        app = submitted(by="officer2")
        assert app.status is ApplicationStatus.SUBMITTED
        assert (app.submitted_by, app.submitted_on) == ("officer2", D1)

    def test_approve_moves_submitted_to_approved_and_records_the_checker(self) -> None:
        app = approved()
        assert app.status is ApplicationStatus.APPROVED
        assert app.decided_by == "checker"
        assert [s for _, s, _ in app.history] == [ApplicationStatus.SUBMITTED, ApplicationStatus.APPROVED]

    def test_reject_keeps_the_reasons(self) -> None:
        app = rejected()
        assert app.status is ApplicationStatus.REJECTED
        assert app.rejection_reasons == ("income too low",)

    def test_submitted_and_approved_applications_can_be_withdrawn(self) -> None:
        app = approved()
        app.withdraw(by="maker", on=D1)
        assert app.status is ApplicationStatus.WITHDRAWN
        assert withdrawn().status is ApplicationStatus.WITHDRAWN

    def test_disbursement_consumes_an_approved_application(self) -> None:
        app = disbursed()
        assert app.status is ApplicationStatus.DISBURSED
        assert app.loan_id == "L1"


ILLEGAL = [
    (draft, "approve"),
    (draft, "reject"),
    (draft, "withdraw"),
    (draft, "disburse"),
    (submitted, "submit"),
    (submitted, "disburse"),
    (approved, "submit"),
    (approved, "approve"),
    (approved, "reject"),
    (rejected, "submit"),
    (rejected, "approve"),
    (rejected, "reject"),
    (rejected, "withdraw"),
    (rejected, "disburse"),
    (withdrawn, "submit"),
    (withdrawn, "approve"),
    (withdrawn, "reject"),
    (withdrawn, "withdraw"),
    (withdrawn, "disburse"),
    (disbursed, "submit"),
    (disbursed, "approve"),
    (disbursed, "reject"),
    (disbursed, "withdraw"),
    (disbursed, "disburse"),
]


def _act(app: LoanApplication, action: str) -> None:
    if action == "submit":
        app.submit(by="maker", on=D1)
    elif action == "approve":
        app.approve(by="checker", role=Role.MFI_ADMIN, on=D1, approval_limit=None)
    elif action == "reject":
        app.reject(by="checker", role=Role.MFI_ADMIN, on=D1, reasons=("no",))
    elif action == "withdraw":
        app.withdraw(by="maker", on=D1)
    else:
        app.mark_disbursed(loan_id="L9", by="cashier", on=D1)


class TestIllegalTransitions:
    @pytest.mark.parametrize(("make", "action"), ILLEGAL, ids=[f"{m.__name__}-{a}" for m, a in ILLEGAL])
    def test_is_refused_with_a_named_error_and_leaves_the_status(
        self, make: Callable[[], LoanApplication], action: str
    ) -> None:
        app = make()
        before = app.status
        with pytest.raises(IllegalApplicationTransition) as info:
            _act(app, action)
        assert info.value.code == "illegal_application_transition"
        assert isinstance(info.value, InvalidTransition)
        assert info.value.details == {"entity": "loan application", "from_state": before.value, "action": action}
        assert app.status is before


class TestMakerChecker:
    def test_the_creator_cannot_approve(self) -> None:
        app = submitted(by="other")
        with pytest.raises(MakerCheckerViolation) as info:
            app.approve(by="maker", role=Role.MFI_ADMIN, on=D1, approval_limit=None)
        assert info.value.details["reason"] == "created_by"
        assert app.status is ApplicationStatus.SUBMITTED

    def test_the_submitter_cannot_approve(self) -> None:
        app = submitted(by="submitter")
        with pytest.raises(MakerCheckerViolation) as info:
            app.approve(by="submitter", role=Role.MFI_ADMIN, on=D1, approval_limit=None)
        assert info.value.details["reason"] == "submitted_by"

    def test_the_maker_cannot_reject_either(self) -> None:
        app = submitted()
        with pytest.raises(MakerCheckerViolation):
            app.reject(by="maker", role=Role.MFI_ADMIN, on=D1, reasons=("x",))

    def test_a_different_user_passes(self) -> None:
        check_maker_checker(created_by="a", submitted_by="b", approver_id="c")
        check_maker_checker(created_by="a", submitted_by=None, approver_id="c")
        with pytest.raises(MakerCheckerViolation):
            check_maker_checker(created_by="a", submitted_by=None, approver_id="a")


class TestApprovalAuthority:
    def test_branch_manager_approves_up_to_and_including_the_limit(self) -> None:
        app = submitted(principal="5000.00")
        app.approve(by="checker", role="branch_manager", on=D1, approval_limit="5000.00")
        assert app.status is ApplicationStatus.APPROVED

    def test_branch_manager_above_the_limit_is_refused_with_both_amounts(self) -> None:
        app = submitted(principal="5000.01")
        with pytest.raises(ApprovalLimitExceeded) as info:
            app.approve(by="checker", role=Role.BRANCH_MANAGER, on=D1, approval_limit=LIMIT)
        assert info.value.details == {"role": "branch_manager", "amount": "5000.01", "approval_limit": "5000.00"}
        assert app.status is ApplicationStatus.SUBMITTED

    def test_branch_manager_without_a_product_limit_approves(self) -> None:
        check_approval_authority(role=Role.BRANCH_MANAGER, amount="1000000.00", approval_limit=None)

    def test_mfi_admin_approves_any_amount(self) -> None:
        app = submitted(principal="999999.00")
        app.approve(by="admin", role=Role.MFI_ADMIN, on=D1, approval_limit=LIMIT)
        assert app.status is ApplicationStatus.APPROVED

    @pytest.mark.parametrize("role", [Role.LOAN_OFFICER, Role.AUDITOR, Role.INTEGRATION])
    def test_other_roles_never_approve_or_reject(self, role: Role) -> None:
        app = submitted(principal="1.00")
        with pytest.raises(NotPermittedToApprove) as info:
            app.approve(by="checker", role=role, on=D1, approval_limit=LIMIT)
        assert info.value.details == {"role": role.value}
        with pytest.raises(NotPermittedToApprove):
            app.reject(by="checker", role=role, on=D1, reasons=("x",))
        assert app.status is ApplicationStatus.SUBMITTED

    def test_an_unknown_role_is_a_validation_error(self) -> None:
        with pytest.raises(ValidationError) as info:
            check_approval_authority(role="cashier", amount="1.00", approval_limit=None)
        assert (info.value.field, info.value.rule) == ("role", "known_role")


class TestValidation:
    def test_rejection_needs_a_reason(self) -> None:
        app = submitted()
        with pytest.raises(ValidationError) as info:
            app.reject(by="checker", role=Role.MFI_ADMIN, on=D1, reasons=())
        assert info.value.rule == "required"

    @pytest.mark.parametrize(("principal", "term", "field"), [("0", 6, "principal"), ("10.00", 0, "term_in_periods")])
    def test_principal_and_term_must_be_positive(self, principal: str, term: int, field: str) -> None:
        with pytest.raises(ValidationError) as info:
            LoanApplication(
                application_id="A",
                borrower_id="B",
                product_id="P",
                principal=Decimal(principal),
                term_in_periods=term,
                created_by="m",
                created_on=D1,
            )
        assert info.value.field == field


class TestDisburseApplication:
    def schedule(self, principal_each: str = "500.00") -> RepaymentSchedule:
        return level_schedule(
            first_due=date(2026, 4, 2),
            periods=6,
            principal_each=principal_each,
            interest_each="30.00",
            upfront_fees="60.00",
        )

    def test_opens_an_active_loan_with_principal_fee_and_net_disbursed(self) -> None:
        app = approved()
        loan = disburse_application(application=app, loan_id="L1", schedule=self.schedule(), on=D1, by="cashier")
        assert (loan.principal, loan.upfront_fee, loan.net_disbursed) == (
            Decimal("3000.00"),
            Decimal("60.00"),
            Decimal("2940.00"),
        )
        assert (loan.borrower_id, loan.application_id, loan.product_id) == ("B1", "A1", "P1")
        assert loan.status.value == "active"
        assert app.status is ApplicationStatus.DISBURSED
        assert app.loan_id == "L1"

    def test_refuses_an_application_that_is_not_approved(self) -> None:
        app = submitted()
        with pytest.raises(IllegalApplicationTransition):
            disburse_application(application=app, loan_id="L1", schedule=self.schedule(), on=D1, by="c")
        assert app.status is ApplicationStatus.SUBMITTED

    def test_refuses_a_schedule_for_another_principal(self) -> None:
        app = approved()
        with pytest.raises(ValidationError) as info:
            disburse_application(application=app, loan_id="L1", schedule=self.schedule("400.00"), on=D1, by="c")
        assert info.value.rule == "principal_mismatch"
        assert app.status is ApplicationStatus.APPROVED
