"""``/api/v1/loan-products/`` (everyone reads; only an ``mfi_admin`` creates or changes) and
``/api/v1/loan-quotes/`` (schedule and Key Fact Statement from the core; stores nothing)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action, ActionPermission, RoleNotAllowed, principal_of
from letsema_api.borrowers.apis import actor_of
from letsema_api.common.pagination import Pagination
from letsema_api.common.serializers import InputSerializer, MoneyField
from letsema_api.products import models, selectors, services
from letsema_core.errors import NotFound
from letsema_core.loans.application import Role

PERCENT_PATTERN = r"^\d{1,3}(\.\d{1,6})?$"
_PERCENT = re.compile(PERCENT_PATTERN)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": PERCENT_PATTERN, "example": "24.5"})
class PercentField(serializers.Field):  # type: ignore[misc]
    """A percentage as a JSON string (``"24"``, ``"2.5"``, up to 6 decimals); numbers refused like money."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "percent_format": 'Must be a decimal string with at most 6 decimals, e.g. "24.5".'
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str) or not _PERCENT.match(data):
            self.fail("percent_format")
        return Decimal(data)

    def to_representation(self, value: Any) -> str:
        return f"{Decimal(value).normalize():f}"


class AdminWrites(BasePermission):  # type: ignore[misc]
    """Reads for every role that may read; creating or changing a product is for an ``mfi_admin`` only."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        principal = principal_of(request)
        if principal is None or principal.role is not Role.MFI_ADMIN:
            role = principal.role.value if principal else "anonymous"
            raise RoleNotAllowed(
                "only an mfi_admin may create or change loan products",
                details={"role": role, "action": "manage_products"},
            )
        return True


class ProductOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    principal_min = MoneyField()
    principal_max = MoneyField()
    term_min = serializers.IntegerField()
    term_max = serializers.IntegerField()
    repayment_frequency = serializers.CharField()
    annual_interest_rate_percent = PercentField()
    interest_method = serializers.CharField()
    amortization = serializers.CharField()
    grace_periods_principal = serializers.IntegerField()
    upfront_fee_percent = PercentField()
    upfront_fee_amount = MoneyField()
    late_penalty_percent = PercentField()
    penalty_grace_days = serializers.IntegerField()
    approval_limit = MoneyField()
    max_debt_to_income_percent = PercentField()
    credit_check_mandatory = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ProductInputSerializer(InputSerializer):
    """Every field of a loan product; the core validates the whole (ranges, fees, grace)."""

    code = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)
    currency = serializers.CharField(max_length=3, required=False)
    principal_min = MoneyField(max_value="999999999999.99")
    principal_max = MoneyField(max_value="999999999999.99")
    term_min = serializers.IntegerField(min_value=1, max_value=10_000)
    term_max = serializers.IntegerField(min_value=1, max_value=10_000)
    repayment_frequency = serializers.CharField(max_length=16)
    annual_interest_rate_percent = PercentField()
    interest_method = serializers.CharField(max_length=32)
    amortization = serializers.CharField(max_length=32, required=False)
    grace_periods_principal = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    upfront_fee_percent = PercentField(required=False)
    upfront_fee_amount = MoneyField(max_value="999999999999.99", required=False)
    late_penalty_percent = PercentField(required=False)
    penalty_grace_days = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    approval_limit = MoneyField(max_value="999999999999.99")
    max_debt_to_income_percent = PercentField()
    credit_check_mandatory = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


def product_response(product_id: str, *, status: int = 200) -> Response:
    row = selectors.product_row(product_id=product_id)
    if row is None:
        raise NotFound(entity="loan product", key=product_id)
    return Response(ProductOutputSerializer(row).data, status=status)


class LoanProductListCreateApi(APIView):  # type: ignore[misc]
    pagination_class = Pagination  # documents the paginated envelope in the schema
    permission_classes = (ActionPermission, AdminWrites)
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    @extend_schema(
        responses=ProductOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("is_active", bool),
            OpenApiParameter("repayment_frequency", str, enum=[c for c, _ in models.FREQUENCY_CHOICES]),
            OpenApiParameter("interest_method", str, enum=[c for c, _ in models.INTEREST_METHOD_CHOICES]),
            OpenApiParameter("code", str),
        ],
        operation_id="loan_products_list",
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.product_list(filters=request.query_params), request, view=self)
        return paginator.get_paginated_response(ProductOutputSerializer(page, many=True).data)

    @extend_schema(
        request=ProductInputSerializer, responses={201: ProductOutputSerializer}, operation_id="loan_products_create"
    )
    def post(self, request: Request) -> Response:
        body = ProductInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        is_active = fields.pop("is_active", True)
        product_id = services.create_product(fields=fields, actor=actor_of(request))
        if not is_active:
            services.update_product(product_id=product_id, changes={}, is_active=False, actor=actor_of(request))
        return product_response(product_id, status=201)


class LoanProductDetailApi(APIView):  # type: ignore[misc]
    permission_classes = (ActionPermission, AdminWrites)
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "PATCH": Action.WRITE}

    @extend_schema(responses=ProductOutputSerializer, operation_id="loan_products_retrieve")
    def get(self, request: Request, product_id: str) -> Response:
        return product_response(product_id)

    @extend_schema(
        request=ProductInputSerializer(partial=True),
        responses=ProductOutputSerializer,
        operation_id="loan_products_update",
    )
    def patch(self, request: Request, product_id: str) -> Response:
        body = ProductInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        is_active = changes.pop("is_active", None)
        services.update_product(product_id=product_id, changes=changes, is_active=is_active, actor=actor_of(request))
        return product_response(product_id)


class InstallmentOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal_due = MoneyField()
    interest_due = MoneyField()
    fees_due = MoneyField()
    penalties_due = MoneyField()
    total_due = MoneyField()
    balance_after = MoneyField()


class KeyFactsOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    principal = MoneyField()
    net_disbursed = MoneyField()
    installment_count = serializers.IntegerField()
    installment_amount = MoneyField()
    total_interest = MoneyField()
    total_fees = MoneyField()
    total_cost_of_credit = MoneyField()
    total_repayable = MoneyField()
    effective_annual_rate_percent = serializers.CharField()  # always two decimals, e.g. "26.82"
    nominal_annual_rate_percent = PercentField()
    repayment_frequency = serializers.CharField()
    first_due_date = serializers.DateField()
    last_due_date = serializers.DateField()


class LoanQuoteApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        product = serializers.CharField(max_length=64)
        principal = MoneyField(min_value="0.01", max_value="999999999999.99")
        term_in_periods = serializers.IntegerField(min_value=1, max_value=10_000)
        disbursement_date = serializers.DateField(required=False, default=None)
        first_repayment_date = serializers.DateField(required=False, allow_null=True, default=None)

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        product = serializers.CharField()
        principal = MoneyField()
        term_in_periods = serializers.IntegerField()
        disbursement_date = serializers.DateField()
        key_facts = KeyFactsOutputSerializer()
        installments = InstallmentOutputSerializer(many=True)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="loan_quotes_create")
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        disbursement_date = data["disbursement_date"] or timezone.localdate()
        result = services.quote_loan(
            product_id=data["product"],
            principal=data["principal"],
            term_in_periods=data["term_in_periods"],
            disbursement_date=disbursement_date,
            first_repayment_date=data["first_repayment_date"],
        )
        facts = result.key_facts
        out = {
            "product": data["product"],
            "principal": result.terms.principal,
            "term_in_periods": result.terms.term_in_periods,
            "disbursement_date": disbursement_date,
            "key_facts": {
                "principal": facts.principal,
                "net_disbursed": facts.net_disbursed,
                "installment_count": facts.installment_count,
                "installment_amount": facts.installment_amount,
                "total_interest": facts.total_interest,
                "total_fees": facts.total_fees,
                "total_cost_of_credit": facts.total_cost_of_credit,
                "total_repayable": facts.total_repayable,
                "effective_annual_rate_percent": f"{facts.effective_annual_rate_percent:.2f}",
                "nominal_annual_rate_percent": facts.nominal_annual_rate_percent,
                "repayment_frequency": facts.repayment_frequency.value,
                "first_due_date": facts.first_due_date,
                "last_due_date": facts.last_due_date,
            },
            "installments": facts.installments,
        }
        return Response(self.OutputSerializer(out).data)
