"""Reads of the journal: the entry list (filtered) and the trial balance as of a date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

import django_filters
from django.db.models import Prefetch, QuerySet, Sum

from letsema_api.ledger import models
from letsema_core.accounting import DEFAULT_CHART_OF_ACCOUNTS, TrialBalance, TrialBalanceRow
from letsema_core.errors import ValidationError

_ZERO = Decimal("0.00")


class JournalEntryFilter(django_filters.FilterSet):  # type: ignore[misc]
    date_from = django_filters.DateFilter(field_name="on", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="on", lookup_expr="lte")
    account = django_filters.CharFilter(method="filter_account")
    loan = django_filters.CharFilter(field_name="loan_id")

    class Meta:
        model = models.JournalEntry
        fields: ClassVar[list[str]] = []

    def filter_account(
        self, queryset: QuerySet[models.JournalEntry], name: str, value: str
    ) -> QuerySet[models.JournalEntry]:
        return queryset.filter(lines__account_code=value).distinct()


def journal_entry_list() -> QuerySet[models.JournalEntry]:
    return models.JournalEntry.objects.order_by("id").prefetch_related(
        Prefetch("lines", queryset=models.JournalLine.objects.order_by("position"))
    )


def trial_balance(*, as_of: date) -> TrialBalance:
    """Debits and credits per account of the entries dated on or before ``as_of`` (summed in SQL).

    Every account of the chart is listed; a line on an account outside the chart raises
    ``ValidationError`` (rule ``unknown_account``), as the core's ``trial_balance`` does.
    """
    sums = {
        row["account_code"]: (row["debits"] or _ZERO, row["credits"] or _ZERO)
        for row in models.JournalLine.objects.filter(entry__on__lte=as_of)
        .values("account_code")
        .annotate(debits=Sum("debit"), credits=Sum("credit"))
    }
    accounts = {a.code: a for a in DEFAULT_CHART_OF_ACCOUNTS}
    unknown = sorted(set(sums) - set(accounts))
    if unknown:
        raise ValidationError(
            f"account {unknown[0]} is not in the chart of accounts",
            field="account_code",
            rule="unknown_account",
            account_code=unknown[0],
        )
    rows = tuple(TrialBalanceRow(accounts[code], *sums.get(code, (_ZERO, _ZERO))) for code in sorted(accounts))
    return TrialBalance(as_of=as_of, rows=rows)
