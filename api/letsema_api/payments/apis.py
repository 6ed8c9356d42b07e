"""The M-Pesa callback (signed, no OAuth) and the suspense queue over HTTP: InputSerializer → service →
OutputSerializer. No rule lives here; errors reach the one handler as the services raise them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action
from letsema_api.common.pagination import cursor_paginated as paginated_schema
from letsema_api.common.serializers import InputSerializer, MoneyField
from letsema_api.lending.apis import actor, filter_parameters, paginated
from letsema_api.payments import models, selectors, services
from letsema_core.errors import ValidationError

TIMESTAMP_HEADER = "X-Letsema-Timestamp"
SIGNATURE_HEADER = "X-Letsema-Signature"


class MpesaCallbackApi(APIView):  # type: ignore[misc]
    """Payment systems sign their requests instead of holding an OAuth token."""

    authentication_classes: ClassVar[tuple[Any, ...]] = ()
    permission_classes: ClassVar[tuple[Any, ...]] = ()

    class InputSerializer(InputSerializer):
        receipt_number = serializers.RegexField(r"^[A-Za-z0-9]{6,40}$", help_text="M-Pesa TransID")
        amount = MoneyField(min_value="0.01")
        phone = serializers.RegexField(r"^\+?[0-9]{8,15}$", help_text="MSISDN of the payer")
        account_reference = serializers.CharField(max_length=64, help_text="the loan id")
        transaction_time = serializers.DateTimeField()

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        status = serializers.CharField(help_text="applied | suspense")
        receipt_number = serializers.CharField()
        amount = MoneyField()
        received_on = serializers.DateField()
        loan_id = serializers.CharField(allow_null=True)
        transaction_id = serializers.CharField(required=False)
        principal = MoneyField(required=False)
        interest = MoneyField(required=False)
        fees = MoneyField(required=False)
        penalties = MoneyField(required=False)
        loan_status = serializers.CharField(required=False)
        outstanding_principal = MoneyField(required=False)
        suspense_id = serializers.CharField(required=False)
        reason = serializers.CharField(required=False, help_text="unmatched | exceeds_payoff | loan_not_active")
        payoff_at_receipt = MoneyField(required=False, allow_null=True)

    @extend_schema(
        request=InputSerializer,
        parameters=[
            OpenApiParameter(TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True, description="Unix seconds"),
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description='"sha256=" + hex HMAC-SHA256 of timestamp + "." + raw body, with the tenant\'s webhook key',
            ),
        ],
        responses={200: OutputSerializer, 202: OutputSerializer},
        auth=[],
        operation_id="payments_mpesa_callback",
        description="A repeated receipt number gets the first response back and moves no money; money that "
        "fits no active loan, or exceeds its payoff, goes to the suspense queue (202).",
    )
    def post(self, request: Request) -> Response:
        services.verify_signature(
            key=services.signing_key(),
            body=request.body,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            now=timezone.now(),
        )
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        response = services.receive_mpesa_payment(receipt=services.Receipt(**body.validated_data))
        headers = {"Idempotent-Replayed": "true"} if response.replayed else {}
        return Response(response.body, status=response.status, headers=headers)


class SuspenseItemOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)
    receipt_number = serializers.CharField(source="receipt.receipt_number")
    channel = serializers.CharField(source="receipt.channel")
    account_reference = serializers.CharField(source="receipt.account_reference")
    transaction_time = serializers.DateTimeField(source="receipt.transaction_time")
    received_on = serializers.DateField()
    amount = MoneyField()
    reason = serializers.CharField()
    status = serializers.CharField()
    loan_id = serializers.CharField(allow_null=True)
    payoff_at_receipt = MoneyField(allow_null=True)
    resolved_loan_id = serializers.CharField(allow_null=True)
    resolved_transaction_id = serializers.CharField(allow_null=True)
    applied_amount = MoneyField(allow_null=True)
    refund_reference = serializers.CharField(allow_null=True)
    resolved_by = serializers.CharField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class SuspenseListApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    @extend_schema(
        responses=paginated_schema(SuspenseItemOutputSerializer, name="PaginatedSuspenseItemList"),
        parameters=filter_parameters(selectors.SuspenseItemFilter),
        operation_id="payments_suspense_list",
    )
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, selectors.suspense_list(), selectors.SuspenseItemFilter, SuspenseItemOutputSerializer
        )


class SuspenseDetailApi(APIView):  # type: ignore[misc]
    """One item, with the payer's phone (lists leave it out, as borrower lists do)."""

    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    class OutputSerializer(SuspenseItemOutputSerializer):
        phone = serializers.CharField(help_text="the payer's MSISDN")

    @extend_schema(responses=OutputSerializer, operation_id="payments_suspense_retrieve")
    def get(self, request: Request, item_id: str) -> Response:
        item = selectors.suspense_get(item_id)
        item.phone = selectors.payer_phone(item)
        return Response(self.OutputSerializer(item).data)


class SuspenseResolveApi(APIView):  # type: ignore[misc]
    # Officers resolve; an auditor reads only and a payment system only posts (DOMAIN.md roles).
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        action = serializers.ChoiceField(choices=["assign", "refund"])
        loan_id = serializers.RegexField(r"^[A-Za-z0-9._-]{1,64}$", required=False)
        on = serializers.DateField(required=False, default=None)
        remainder = serializers.ChoiceField(
            choices=[models.SuspenseStatus.OPEN.value, models.SuspenseStatus.REFUND_DUE.value],
            default=models.SuspenseStatus.OPEN.value,
            help_text="what becomes of an amount above the loan's payoff (assign)",
        )
        reference = serializers.CharField(max_length=100, required=False, help_text="the refund's reference")

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        item = SuspenseItemOutputSerializer()
        remainder = SuspenseItemOutputSerializer(allow_null=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="payments_suspense_resolve")
    def post(self, request: Request, item_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        needed = "loan_id" if data["action"] == "assign" else "reference"
        if not data.get(needed):
            raise ValidationError(f"{needed} is required to {data['action']}", field=needed, rule="required")
        if data["action"] == "assign":
            resolution = services.suspense_assign(
                actor=actor(request),
                item_id=item_id,
                loan_id=data["loan_id"],
                on=data["on"],
                remainder=models.SuspenseStatus(data["remainder"]),
            )
        else:
            resolution = services.suspense_refund(
                actor=actor(request), item_id=item_id, reference=data["reference"], on=data["on"]
            )
        remainder = selectors.suspense_get(resolution.remainder_id) if resolution.remainder_id else None
        headers = {"Idempotent-Replayed": "true"} if resolution.replayed else {}
        out = self.OutputSerializer({"item": selectors.suspense_get(resolution.item_id), "remainder": remainder})
        return Response(out.data, headers=headers)
