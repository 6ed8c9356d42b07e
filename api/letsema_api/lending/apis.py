"""Loan applications, loans and repayments over HTTP: InputSerializer → service (core use case) →
OutputSerializer. No rule lives here; errors reach the one handler as the core raises them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action, principal_of
from letsema_api.common.pagination import MAX_PAGE_SIZE, CursorPagination
from letsema_api.common.pagination import cursor_paginated as paginated_schema
from letsema_api.common.serializers import InputSerializer, MoneyField, PlainOutputSerializer, query_data
from letsema_api.lending import models, selectors, services
from letsema_core.credit import assessment_to_dict
from letsema_core.errors import ValidationError
from letsema_core.loans import RepaymentResult

ID_PATTERN = r"[A-Za-z0-9._-]{1,64}"
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,200}$")


def actor(request: Request) -> services.Actor:
    principal = principal_of(request)
    assert principal is not None  # ActionPermission let the request through
    return services.Actor(name=principal.name, role=principal.role)


def paginated(view: APIView, request: Request, rows: QuerySet[Any], filterset: Any, output: Any) -> Response:
    """Filter (``filterset``), then page ``rows`` by cursor (``CursorPagination``: ``{next, previous,
    results}``, no count). A filter given empty, twice or unknown, a bad ``page_size`` or a cursor this list
    did not give is a 400 (as the platform's lists: a typo never passes for "no filter")."""
    query = query_data(request)
    unknown = sorted(set(query) - set(filterset.base_filters) - {"cursor", "page_size"})
    if unknown:
        raise ValidationError(f"unknown query parameter {unknown[0]!r}", field=unknown[0], rule="unknown_field")
    for name in filterset.base_filters:
        if query.get(name) == "":
            raise ValidationError(f"{name} cannot be empty", field=name, rule="blank")
    filtered = filterset(request.query_params, queryset=rows)
    if not filtered.is_valid():
        raise DrfValidationError(filtered.errors)
    paginator = CursorPagination()
    page = paginator.paginate_queryset(filtered.qs, request, view=view)
    return paginator.get_paginated_response(output(page, many=True).data)


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A repeat returns the original response and changes nothing; 8-200 of [A-Za-z0-9._:-]",
)


def idempotency_key(request: Request, *, required: bool) -> str | None:
    key: str | None = request.headers.get("Idempotency-Key")
    if not key:
        if required:
            raise ValidationError("the Idempotency-Key header is required", field="Idempotency-Key", rule="required")
        return None
    if not IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            "the Idempotency-Key must be 8 to 200 of A-Z a-z 0-9 . _ : -", field="Idempotency-Key", rule="format"
        )
    return key


def idempotent(
    request: Request,
    *,
    scope: str,
    key: str | None,
    produce: Callable[[], tuple[int, dict[str, Any]]],
    lock: Callable[[], object] | None = None,
) -> Response:
    """``produce()`` → ``(status, body)``, once per ``Idempotency-Key`` when one is sent."""
    if key is None:
        status, body = produce()
        return Response(body, status=status)
    stored = services.idempotent_response(
        scope=scope,
        key=key,
        fingerprint=services.request_fingerprint(method=request.method or "", path=request.path, body=request.data),
        actor=actor(request),
        produce=produce,
        lock=lock,
    )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(stored.body, status=stored.status, headers=headers)


def filter_parameters(filterset: Any) -> list[OpenApiParameter]:
    """The query parameters of a ``FilterSet`` for the OpenAPI schema (plus ``cursor`` and ``page_size``)."""
    params: list[OpenApiParameter] = []
    for name, field in filterset.base_filters.items():
        if isinstance(field, django_filters.DateFilter):
            params.append(OpenApiParameter(name, OpenApiTypes.DATE))
        elif isinstance(field, django_filters.ChoiceFilter):
            params.append(OpenApiParameter(name, str, enum=[value for value, _ in field.extra["choices"]]))
        else:
            params.append(OpenApiParameter(name, str))
    params.append(
        OpenApiParameter("cursor", str, description="Where the page starts: the cursor of a next or previous link.")
    )
    params.append(OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}))
    return params


def query_date(request: Request, name: str, *, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a date (YYYY-MM-DD)", field=name, rule="date") from None


# ---------------------------------------------------------------------------------- applications


class ApplicationOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    borrower_id = serializers.CharField()
    product_id = serializers.CharField()
    principal = MoneyField()
    term_in_periods = serializers.IntegerField()
    status = serializers.ChoiceField(choices=models.APPLICATION_STATUS_CHOICES)
    created_by = serializers.CharField()
    created_on = serializers.DateField()
    submitted_by = serializers.CharField(allow_null=True)
    submitted_on = serializers.DateField(allow_null=True)
    decided_by = serializers.CharField(allow_null=True)
    decided_on = serializers.DateField(allow_null=True)
    rejection_reasons = serializers.ListField(child=serializers.CharField())
    withdrawn_on = serializers.DateField(allow_null=True)
    loan_id = serializers.CharField(allow_null=True)


def application_response(application_id: str, status: int = 200) -> Response:
    return Response(ApplicationOutputSerializer(selectors.application_get(application_id)).data, status=status)


class ApplicationListCreateApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        borrower_id = serializers.RegexField(f"^{ID_PATTERN}$")
        product_id = serializers.RegexField(f"^{ID_PATTERN}$")
        principal = MoneyField(min_value="0.01")
        term_in_periods = serializers.IntegerField(min_value=1, max_value=1000)

    @extend_schema(
        responses=paginated_schema(ApplicationOutputSerializer, name="PaginatedLoanApplicationList"),
        parameters=filter_parameters(selectors.ApplicationFilter),
        operation_id="loan_applications_list",
    )
    def get(self, request: Request) -> Response:
        return paginated(
            self, request, selectors.application_list(), selectors.ApplicationFilter, ApplicationOutputSerializer
        )

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ApplicationOutputSerializer},
        operation_id="loan_applications_create",
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request, required=False)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def produce() -> tuple[int, dict[str, Any]]:
            application = services.application_create(
                actor=actor(request),
                borrower_id=data["borrower_id"],
                product_id=data["product_id"],
                principal=data["principal"],
                term_in_periods=data["term_in_periods"],
            )
            return 201, dict(ApplicationOutputSerializer(selectors.application_get(application.application_id)).data)

        return idempotent(request, scope="loan_application.create", key=key, produce=produce)


class ApplicationDetailApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    class OutputSerializer(ApplicationOutputSerializer):
        assessment = serializers.DictField(allow_null=True, help_text="the latest credit assessment, if any")

    @extend_schema(responses=OutputSerializer, operation_id="loan_applications_retrieve")
    def get(self, request: Request, application_id: str) -> Response:
        row = selectors.application_get(application_id)
        assessment = selectors.latest_assessment(application_id)
        data = self.OutputSerializer(row).data
        data["assessment"] = None if assessment is None else assessment_to_dict(assessment)
        return Response(data)


class ApplicationSubmitApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses=ApplicationOutputSerializer, operation_id="loan_applications_submit"
    )
    def post(self, request: Request, application_id: str) -> Response:
        self.InputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        services.application_submit(actor=actor(request), application_id=application_id)
        return application_response(application_id)


class ApplicationAssessApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        pass

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        application_id = serializers.CharField()
        assessment = serializers.DictField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer, operation_id="loan_applications_assess")
    def post(self, request: Request, application_id: str) -> Response:
        self.InputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        assessment = services.application_assess(actor=actor(request), application_id=application_id)
        data = {"application_id": application_id, "assessment": assessment_to_dict(assessment)}
        return Response(self.OutputSerializer(data).data)


class ApplicationApproveApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.APPROVE}

    class InputSerializer(InputSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses=ApplicationOutputSerializer, operation_id="loan_applications_approve"
    )
    def post(self, request: Request, application_id: str) -> Response:
        self.InputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        services.application_approve(actor=actor(request), application_id=application_id)
        return application_response(application_id)


class ApplicationRejectApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.APPROVE}

    class InputSerializer(InputSerializer):
        reasons = serializers.ListField(
            child=serializers.CharField(max_length=200, allow_blank=False), min_length=1, max_length=20
        )

    @extend_schema(
        request=InputSerializer, responses=ApplicationOutputSerializer, operation_id="loan_applications_reject"
    )
    def post(self, request: Request, application_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.application_reject(
            actor=actor(request), application_id=application_id, reasons=tuple(body.validated_data["reasons"])
        )
        return application_response(application_id)


class ApplicationWithdrawApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        pass

    @extend_schema(
        request=InputSerializer, responses=ApplicationOutputSerializer, operation_id="loan_applications_withdraw"
    )
    def post(self, request: Request, application_id: str) -> Response:
        self.InputSerializer(data=request.data or {}).is_valid(raise_exception=True)
        services.application_withdraw(actor=actor(request), application_id=application_id)
        return application_response(application_id)


# ------------------------------------------------------------------------------------------ loans


class LoanOutputSerializer(PlainOutputSerializer):
    id = serializers.CharField()
    borrower_id = serializers.CharField()
    product_id = serializers.CharField()
    application_id = serializers.CharField(source="application_ref", allow_null=True)
    officer = serializers.CharField()
    disbursed_on = serializers.DateField()
    principal = MoneyField()
    upfront_fee = MoneyField()
    status = serializers.ChoiceField(choices=models.LOAN_STATUS_CHOICES)
    outstanding_principal = MoneyField()
    days_past_due = serializers.IntegerField()
    worst_days_past_due = serializers.IntegerField()
    arrears_bucket = serializers.ChoiceField(choices=models.ARREARS_BUCKET_CHOICES)
    closed_on = serializers.DateField(allow_null=True)
    written_off_on = serializers.DateField(allow_null=True)
    last_close_of_business = serializers.DateField(allow_null=True)


class ApplicationDisburseApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        disbursed_on = serializers.DateField(required=False, default=None)
        first_repayment_date = serializers.DateField(required=False, default=None)

    @extend_schema(
        request=InputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: LoanOutputSerializer},
        operation_id="loan_applications_disburse",
    )
    def post(self, request: Request, application_id: str) -> Response:
        key = idempotency_key(request, required=False)
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)

        def produce() -> tuple[int, dict[str, Any]]:
            loan = services.application_disburse(
                actor=actor(request),
                application_id=application_id,
                on=body.validated_data["disbursed_on"],
                first_repayment_date=body.validated_data["first_repayment_date"],
            )
            return 201, dict(LoanOutputSerializer(selectors.loan_get(loan.loan_id)).data)

        return idempotent(
            request,
            scope="loan_application.disburse",
            key=key,
            produce=produce,
            lock=lambda: services.lock_application(application_id),
        )


class LoanListApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    @extend_schema(
        responses=paginated_schema(LoanOutputSerializer, name="PaginatedLoanList"),
        parameters=filter_parameters(selectors.LoanFilter),
        operation_id="loans_list",
    )
    def get(self, request: Request) -> Response:
        return paginated(self, request, selectors.loan_list(), selectors.LoanFilter, LoanOutputSerializer)


class LoanDetailApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    @extend_schema(responses=LoanOutputSerializer, operation_id="loans_retrieve")
    def get(self, request: Request, loan_id: str) -> Response:
        return Response(LoanOutputSerializer(selectors.loan_get(loan_id)).data)


class LoanScheduleApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    class OutputSerializer(PlainOutputSerializer):
        number = serializers.IntegerField()
        due_date = serializers.DateField()
        principal_due = MoneyField()
        interest_due = MoneyField()
        fees_due = MoneyField()
        penalties_due = MoneyField()
        total_due = MoneyField()
        balance_after = MoneyField()
        principal_outstanding = MoneyField()
        interest_outstanding = MoneyField()
        fees_outstanding = MoneyField()
        penalties_outstanding = MoneyField()

    @extend_schema(responses=OutputSerializer(many=True), operation_id="loans_schedule")
    def get(self, request: Request, loan_id: str) -> Response:
        return Response(self.OutputSerializer(selectors.loan_schedule(loan_id), many=True).data)


class LoanStatementApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        on = serializers.DateField()
        sequence = serializers.IntegerField()
        transaction_id = serializers.CharField()
        kind = serializers.ChoiceField(choices=models.TRANSACTION_KIND_CHOICES)
        amount = MoneyField()
        principal = MoneyField()
        interest = MoneyField()
        fees = MoneyField()
        penalties = MoneyField()
        reversed = serializers.BooleanField()
        outstanding_principal = MoneyField()

    @extend_schema(responses=OutputSerializer(many=True), operation_id="loans_statement")
    def get(self, request: Request, loan_id: str) -> Response:
        return Response(self.OutputSerializer(selectors.loan_statement(loan_id), many=True).data)


class LoanPayoffApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        loan_id = serializers.CharField()
        as_of = serializers.DateField()
        payoff_amount = MoneyField()

    @extend_schema(
        parameters=[OpenApiParameter("as_of", date, description="payment date (default: today)")],
        responses=OutputSerializer,
        operation_id="loans_payoff",
    )
    def get(self, request: Request, loan_id: str) -> Response:
        amount, as_of = selectors.loan_payoff(loan_id, as_of=query_date(request, "as_of", default=services.today()))
        return Response(self.OutputSerializer({"loan_id": loan_id, "as_of": as_of, "payoff_amount": amount}).data)


class RepaymentOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    loan_id = serializers.CharField()
    kind = serializers.CharField()
    on = serializers.DateField()
    amount = MoneyField()
    principal = MoneyField()
    interest = MoneyField()
    fees = MoneyField()
    penalties = MoneyField()
    reverses = serializers.CharField(allow_null=True)
    loan_status = serializers.CharField()
    outstanding_principal = MoneyField()
    reallocated = serializers.ListField(child=serializers.CharField())


def repayment_body(loan_id: str, loan: dict[str, Any], result: RepaymentResult) -> dict[str, Any]:
    txn = result.transaction
    data = {
        "id": txn.transaction_id,
        "loan_id": loan_id,
        "kind": txn.kind.value,
        "on": txn.on,
        "amount": txn.amount,
        "principal": txn.principal,
        "interest": txn.interest,
        "fees": txn.fees,
        "penalties": txn.penalties,
        "reverses": txn.reverses,
        "loan_status": loan["status"],
        "outstanding_principal": loan["outstanding_principal"],
        "reallocated": [r.after.transaction_id for r in result.reallocated],
    }
    body: dict[str, Any] = RepaymentOutputSerializer(data).data
    return dict(body)


class LoanRepaymentApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.POST_REPAYMENT}

    class InputSerializer(InputSerializer):
        amount = MoneyField(min_value="0.01")
        on = serializers.DateField(required=False, default=None)
        external_ref = serializers.CharField(max_length=200, required=False, default=None)

    @extend_schema(
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="A repeat returns the original response and moves no money; 8-200 of [A-Za-z0-9._:-]",
            )
        ],
        responses={201: RepaymentOutputSerializer},
        operation_id="loans_repayments_create",
    )
    def post(self, request: Request, loan_id: str) -> Response:
        key = idempotency_key(request, required=True)
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        locked: dict[str, Any] = {}

        def lock() -> None:
            locked["before"] = services.lock_loan(loan_id)

        def produce() -> tuple[int, dict[str, Any]]:
            after, result = services.repayment_post(
                actor=actor(request),
                loan_id=loan_id,
                amount=data["amount"],
                on=data["on"],
                external_ref=data["external_ref"],
                idempotency_key=key,
                before=locked["before"],
            )
            return 201, repayment_body(loan_id, after, result)

        return idempotent(request, scope="repayment", key=key, produce=produce, lock=lock)


class LoanWriteOffApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.APPROVE}

    class InputSerializer(InputSerializer):
        on = serializers.DateField(required=False, default=None)

    @extend_schema(request=InputSerializer, responses=LoanOutputSerializer, operation_id="loans_write_off")
    def post(self, request: Request, loan_id: str) -> Response:
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        services.loan_write_off(actor=actor(request), loan_id=loan_id, on=body.validated_data["on"])
        return Response(LoanOutputSerializer(selectors.loan_get(loan_id)).data)


class RepaymentReverseApi(APIView):  # type: ignore[misc]
    # Corrections are not for payment systems (DOMAIN.md: integrations post repayments only).
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        on = serializers.DateField(required=False, default=None)

    @extend_schema(
        request=InputSerializer, responses={201: RepaymentOutputSerializer}, operation_id="repayments_reverse"
    )
    def post(self, request: Request, transaction_id: str) -> Response:
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        loan_id, loan, result = services.repayment_reverse(
            actor=actor(request), transaction_id=transaction_id, on=body.validated_data["on"]
        )
        return Response(repayment_body(loan_id, loan, result), status=201)
