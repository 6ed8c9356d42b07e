"""Accounting: a cash-basis chart of accounts, balanced journal entries and the trial balance.

Exports: ``Account``, ``AccountType``, ``DEFAULT_CHART_OF_ACCOUNTS`` and the
account codes (``CASH``, ``LOANS_RECEIVABLE``, ``SUSPENSE``, ``INTEREST_INCOME``,
``FEE_INCOME``, ``PENALTY_INCOME``, ``WRITE_OFF_EXPENSE``); ``JournalEntry``,
``JournalLine``, ``UnbalancedJournalEntry``; builders ``disbursement_entry``,
``repayment_entry``, ``reversal_entry``, ``write_off_entry``,
``reallocation_entry``, ``suspense_receipt_entry``, ``entry_for_transaction``;
``trial_balance``, ``TrialBalance``, ``TrialBalanceRow``.
"""

from letsema_core.accounting.chart import (
    CASH,
    DEFAULT_CHART_OF_ACCOUNTS,
    FEE_INCOME,
    INTEREST_INCOME,
    LOANS_RECEIVABLE,
    PENALTY_INCOME,
    SUSPENSE,
    WRITE_OFF_EXPENSE,
    Account,
    AccountType,
)
from letsema_core.accounting.journal import (
    JournalEntry,
    JournalLine,
    UnbalancedJournalEntry,
    disbursement_entry,
    entry_for_transaction,
    reallocation_entry,
    repayment_entry,
    reversal_entry,
    suspense_receipt_entry,
    write_off_entry,
)
from letsema_core.accounting.trial_balance import TrialBalance, TrialBalanceRow, trial_balance

__all__ = [
    "CASH",
    "DEFAULT_CHART_OF_ACCOUNTS",
    "FEE_INCOME",
    "INTEREST_INCOME",
    "LOANS_RECEIVABLE",
    "PENALTY_INCOME",
    "SUSPENSE",
    "WRITE_OFF_EXPENSE",
    "Account",
    "AccountType",
    "JournalEntry",
    "JournalLine",
    "TrialBalance",
    "TrialBalanceRow",
    "UnbalancedJournalEntry",
    "disbursement_entry",
    "entry_for_transaction",
    "reallocation_entry",
    "repayment_entry",
    "reversal_entry",
    "suspense_receipt_entry",
    "trial_balance",
    "write_off_entry",
]
