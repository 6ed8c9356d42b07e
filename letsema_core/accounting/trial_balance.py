"""The trial balance: per-account totals over posted entries, which always balances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letsema_core.accounting.chart import DEFAULT_CHART_OF_ACCOUNTS, Account
from letsema_core.accounting.journal import JournalEntry
from letsema_core.errors import ValidationError

_ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    """One account's debits, credits and net balance on its normal side."""

    account: Account
    debits: Decimal
    credits: Decimal

    @property
    def balance(self) -> Decimal:
        """Debits − credits for assets and expenses; credits − debits otherwise."""
        if self.account.account_type.debit_normal:
            return self.debits - self.credits
        return self.credits - self.debits


@dataclass(frozen=True, slots=True)
class TrialBalance:
    as_of: date
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debits(self) -> Decimal:
        return sum((r.debits for r in self.rows), _ZERO)

    @property
    def total_credits(self) -> Decimal:
        return sum((r.credits for r in self.rows), _ZERO)

    @property
    def is_balanced(self) -> bool:
        return self.total_debits == self.total_credits

    def row(self, code: str) -> TrialBalanceRow:
        """The row of the account with this code. Raises ``KeyError`` for an unknown code."""
        for r in self.rows:
            if r.account.code == code:
                return r
        raise KeyError(code)


def trial_balance(
    entries: Iterable[JournalEntry], *, as_of: date, chart: Sequence[Account] = DEFAULT_CHART_OF_ACCOUNTS
) -> TrialBalance:
    """Totals per account of the entries posted on or before ``as_of`` (every chart account listed).

    Raises ``ValidationError`` (rule ``unknown_account``) for a line on an
    account the chart does not have.
    """
    accounts = {a.code: a for a in chart}
    debits = dict.fromkeys(accounts, _ZERO)
    credits = dict.fromkeys(accounts, _ZERO)
    for entry in entries:
        if entry.on > as_of:
            continue
        for line in entry.lines:
            if line.account_code not in accounts:
                raise ValidationError(
                    f"account {line.account_code} is not in the chart of accounts",
                    field="account_code",
                    rule="unknown_account",
                    account_code=line.account_code,
                )
            debits[line.account_code] += line.debit
            credits[line.account_code] += line.credit
    rows = tuple(TrialBalanceRow(accounts[c], debits[c], credits[c]) for c in sorted(accounts))
    return TrialBalance(as_of=as_of, rows=rows)
