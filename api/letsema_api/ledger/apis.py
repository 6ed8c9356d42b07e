"""``/api/v1/journal-entries/`` (the auditor's view of the books) and ``/api/v1/reports/trial-balance/``."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action
from letsema_api.common.pagination import cursor_paginated as paginated_schema
from letsema_api.common.serializers import MoneyField
from letsema_api.ledger import selectors
from letsema_api.lending.apis import filter_parameters, paginated, query_date
from letsema_api.lending.services import today


class JournalLineOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    account_code = serializers.CharField()
    debit = MoneyField()
    credit = MoneyField()


class TrialBalanceRowSerializer(serializers.Serializer):  # type: ignore[misc]
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    account_type = serializers.CharField(source="account.account_type.value")
    debits = MoneyField()
    credits = MoneyField()
    balance = MoneyField(min_value=None)


class JournalEntryListApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.AUDIT}

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        entry_id = serializers.CharField()
        on = serializers.DateField()
        description = serializers.CharField()
        loan_id = serializers.CharField(allow_null=True)
        transaction_id = serializers.CharField(allow_null=True)
        lines = JournalLineOutputSerializer(many=True, source="lines.all")

    @extend_schema(
        responses=paginated_schema(OutputSerializer, name="PaginatedJournalEntryList"),
        parameters=filter_parameters(selectors.JournalEntryFilter),
        operation_id="journal_entries",
    )
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, selectors.journal_entry_list(), selectors.JournalEntryFilter, self.OutputSerializer
        )


class TrialBalanceApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.REPORTS}

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        as_of = serializers.DateField()
        rows = TrialBalanceRowSerializer(many=True)
        total_debits = MoneyField()
        total_credits = MoneyField()
        is_balanced = serializers.BooleanField()

    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="YYYY-MM-DD (default: today)")],
        responses=OutputSerializer,
        operation_id="reports_trial_balance",
    )
    def get(self, request: Request) -> Response:
        balance = selectors.trial_balance(as_of=query_date(request, "as_of", default=today()))
        data = {
            "as_of": balance.as_of,
            "rows": balance.rows,
            "total_debits": balance.total_debits,
            "total_credits": balance.total_credits,
            "is_balanced": balance.is_balanced,
        }
        return Response(self.OutputSerializer(data).data)
