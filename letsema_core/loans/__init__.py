"""Loans: applications, the Loan aggregate, repayment allocation, arrears and close of business.

Exports:

- Applications — ``LoanApplication`` (draft → submitted → approved | rejected,
  submitted | approved → withdrawn, approved → disbursed), ``ApplicationStatus``,
  ``Role``; policy functions ``check_maker_checker``, ``check_may_decide``,
  ``check_approval_authority``; errors ``IllegalApplicationTransition``,
  ``MakerCheckerViolation``, ``NotPermittedToApprove``, ``ApprovalLimitExceeded``.
- Loans — ``Loan`` (``record_repayment``, ``reverse_repayment``, ``write_off``,
  ``close_business_day``, ``payoff_amount``, ``statement``, ``state``),
  ``disburse_application``, ``LoanStatus``, ``TransactionType``,
  ``LoanTransaction``, ``PenaltyCharge``, ``RepaymentResult``, ``Reallocation``,
  ``StatementLine``, ``LoanState``; errors ``IllegalLoanTransition``,
  ``OverpaymentRefused`` (``details["payoff_amount"]``), ``IdempotencyKeyReused``,
  ``RepaymentAlreadyReversed``.
- Allocation (pure) — ``allocate_repayment``, ``payoff_amount``,
  ``apply_allocation``, ``InstallmentBalance``, ``AllocationLine``,
  ``RepaymentAllocation``.
- Arrears (pure) — ``days_past_due``, ``arrears_bucket``, ``ArrearsBucket``,
  ``BUCKET_UPPER_BOUNDS``, ``late_penalty_amount``, ``penalty_is_due``.
- Close of business — ``run_close_of_business``, ``CloseOfBusinessResult``,
  events ``PenaltyCharged``, ``ArrearsChanged``, ``RepaymentReallocated``
  (``CloseOfBusinessEvent``).
"""

from letsema_core.loans.allocation import (
    AllocationLine,
    InstallmentBalance,
    RepaymentAllocation,
    allocate_repayment,
    apply_allocation,
    payoff_amount,
)
from letsema_core.loans.application import (
    ApplicationStatus,
    ApprovalLimitExceeded,
    IllegalApplicationTransition,
    LoanApplication,
    MakerCheckerViolation,
    NotPermittedToApprove,
    Role,
    check_approval_authority,
    check_maker_checker,
    check_may_decide,
)
from letsema_core.loans.arrears import (
    BUCKET_UPPER_BOUNDS,
    ArrearsBucket,
    arrears_bucket,
    days_past_due,
    late_penalty_amount,
    penalty_is_due,
)
from letsema_core.loans.cob import CloseOfBusinessResult, run_close_of_business
from letsema_core.loans.disbursement import disburse_application
from letsema_core.loans.loan import (
    ArrearsChanged,
    CloseOfBusinessEvent,
    IdempotencyKeyReused,
    IllegalLoanTransition,
    Loan,
    LoanState,
    LoanStatus,
    LoanTransaction,
    OverpaymentRefused,
    PenaltyCharge,
    PenaltyCharged,
    Reallocation,
    RepaymentAlreadyReversed,
    RepaymentReallocated,
    RepaymentResult,
    StatementLine,
    TransactionType,
)

__all__ = [
    "BUCKET_UPPER_BOUNDS",
    "AllocationLine",
    "ApplicationStatus",
    "ApprovalLimitExceeded",
    "ArrearsBucket",
    "ArrearsChanged",
    "CloseOfBusinessEvent",
    "CloseOfBusinessResult",
    "IdempotencyKeyReused",
    "IllegalApplicationTransition",
    "IllegalLoanTransition",
    "InstallmentBalance",
    "Loan",
    "LoanApplication",
    "LoanState",
    "LoanStatus",
    "LoanTransaction",
    "MakerCheckerViolation",
    "NotPermittedToApprove",
    "OverpaymentRefused",
    "PenaltyCharge",
    "PenaltyCharged",
    "Reallocation",
    "RepaymentAllocation",
    "RepaymentAlreadyReversed",
    "RepaymentReallocated",
    "RepaymentResult",
    "Role",
    "StatementLine",
    "TransactionType",
    "allocate_repayment",
    "apply_allocation",
    "arrears_bucket",
    "check_approval_authority",
    "check_maker_checker",
    "check_may_decide",
    "days_past_due",
    "disburse_application",
    "late_penalty_amount",
    "payoff_amount",
    "penalty_is_due",
    "run_close_of_business",
]
