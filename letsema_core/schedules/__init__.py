"""Repayment schedules and the Key Fact Statement.

Public API::

    from letsema_core.schedules import LoanTerms, generate_schedule, key_fact_statement
"""

from letsema_core.schedules.generate import generate_schedule
from letsema_core.schedules.kfs import KeyFactStatement, key_fact_statement, key_fact_statement_for
from letsema_core.schedules.terms import Amortization, InterestMethod, LoanTerms, RepaymentFrequency
from letsema_core.schedules.types import Installment, RepaymentSchedule

__all__ = [
    "Amortization",
    "Installment",
    "InterestMethod",
    "KeyFactStatement",
    "LoanTerms",
    "RepaymentFrequency",
    "RepaymentSchedule",
    "generate_schedule",
    "key_fact_statement",
    "key_fact_statement_for",
]
