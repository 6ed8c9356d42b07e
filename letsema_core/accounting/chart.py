"""The default chart of accounts (cash basis).

Cash basis: income is recognised when cash arrives. Interest, installment fees
and penalties become income only when a repayment allocates money to them;
charging a penalty or an installment falling due posts nothing. The up-front
fee is income at disbursement because it is withheld from the cash paid out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def debit_normal(self) -> bool:
        """Assets and expenses grow with debits; liabilities, equity and income with credits."""
        return self in (AccountType.ASSET, AccountType.EXPENSE)


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    account_type: AccountType


CASH: Final = "1000"
LOANS_RECEIVABLE: Final = "1100"
SUSPENSE: Final = "2100"
INTEREST_INCOME: Final = "4000"
FEE_INCOME: Final = "4100"
PENALTY_INCOME: Final = "4200"
WRITE_OFF_EXPENSE: Final = "5000"

DEFAULT_CHART_OF_ACCOUNTS: Final[tuple[Account, ...]] = (
    Account(CASH, "Cash and bank", AccountType.ASSET),
    Account(LOANS_RECEIVABLE, "Loans receivable (principal)", AccountType.ASSET),
    Account(SUSPENSE, "Unmatched receipts (suspense)", AccountType.LIABILITY),
    Account(INTEREST_INCOME, "Interest income", AccountType.INCOME),
    Account(FEE_INCOME, "Fee income", AccountType.INCOME),
    Account(PENALTY_INCOME, "Penalty income", AccountType.INCOME),
    Account(WRITE_OFF_EXPENSE, "Loan losses (write-offs)", AccountType.EXPENSE),
)
