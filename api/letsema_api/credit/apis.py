"""``/api/v1/credit-reports/``, ``/api/v1/credit-disputes/`` and ``/api/v1/borrowers/{id}/credit-file/``.

Report and file bodies are the core's JSON forms (``letsema_core.credit.serialization``): money as
two-decimal strings, times ISO 8601.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action
from letsema_api.borrowers.apis import IDEMPOTENCY_HEADER, actor_of
from letsema_api.borrowers.converters import ID_PATTERN
from letsema_api.common.pagination import Pagination
from letsema_api.common.serializers import ErrorSerializer, InputSerializer
from letsema_api.credit import models, services
from letsema_core.credit.registry import CreditFile, CreditInquiry, DisputeStatus
from letsema_core.credit.serialization import account_to_dict, dispute_to_dict
from letsema_core.errors import ValidationError


def inquiry_to_dict(inquiry: CreditInquiry) -> dict[str, Any]:
    return {
        "inquiry_id": inquiry.inquiry_id,
        "lender_mfi": inquiry.lender_mfi,
        "user": inquiry.user,
        "purpose": inquiry.purpose,
        "at": inquiry.at.isoformat(),
        "consent_reference": inquiry.consent_reference,
    }


def credit_file_to_dict(credit_file: CreditFile, *, borrower_id: str) -> dict[str, Any]:
    return {
        "borrower_id": borrower_id,
        "country": credit_file.country,
        "accounts": [account_to_dict(a) for a in credit_file.accounts],
        "inquiries": [inquiry_to_dict(i) for i in credit_file.inquiries],
        "disputes": [dispute_to_dict(d) for d in credit_file.disputes],
    }


class BorrowerCreditFileApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ}

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: ErrorSerializer}, operation_id="borrowers_credit_file")
    def get(self, request: Request, borrower_id: str) -> Response:
        credit_file = services.credit_file(borrower_id=borrower_id)
        return Response(credit_file_to_dict(credit_file, borrower_id=borrower_id))


class CreditReportOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    inquiry_id = serializers.CharField()
    borrower_id = serializers.CharField()
    purpose = serializers.CharField()
    pulled_by = serializers.CharField()
    pulled_at = serializers.DateTimeField()
    consent_reference = serializers.CharField()
    report = serializers.DictField()


class CreditReportCreateApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        borrower = serializers.CharField(max_length=64)
        purpose = serializers.CharField(max_length=200)

    @extend_schema(
        request=InputSerializer,
        responses={201: CreditReportOutputSerializer, 200: CreditReportOutputSerializer, 503: ErrorSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="credit_reports_create",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row, created = services.pull_report(
            borrower_id=body.validated_data["borrower"],
            purpose=body.validated_data["purpose"],
            actor=actor_of(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return Response(CreditReportOutputSerializer(report_data(row)).data, status=201 if created else 200)


def report_data(row: models.CreditReportPull) -> dict[str, Any]:
    return {
        "inquiry_id": row.inquiry_id,
        "borrower_id": row.borrower_id,
        "purpose": row.purpose,
        "pulled_by": row.pulled_by,
        "pulled_at": row.pulled_at,
        "consent_reference": row.consent_reference,
        "report": row.report,
    }


class CreditDisputeListCreateApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        borrower = serializers.CharField(max_length=64)
        lender_mfi = serializers.CharField(max_length=64)
        loan_ref = serializers.CharField(max_length=64)
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 503: ErrorSerializer},
        parameters=[
            OpenApiParameter("borrower", str, required=True, description="The borrower's id."),
            OpenApiParameter("status", str, enum=["open", "resolved"]),
        ],
        operation_id="credit_disputes_list",
    )
    def get(self, request: Request) -> Response:
        borrower_id = request.query_params.get("borrower", "")
        if not borrower_id:
            raise ValidationError("the borrower query parameter is required", field="borrower", rule="required")
        if not re.fullmatch(ID_PATTERN, borrower_id):
            raise ValidationError("the borrower query parameter is not an id", field="borrower", rule="format")
        status = request.query_params.get("status")
        if status is not None and status not in {s.value for s in DisputeStatus}:
            raise ValidationError(
                "status must be open or resolved",
                field="status",
                rule="choice",
                allowed=[s.value for s in DisputeStatus],
            )
        unknown = sorted(set(request.query_params) - {"borrower", "status", "page", "page_size"})
        if unknown:
            raise ValidationError(f"unknown query parameter {unknown[0]!r}", field=unknown[0], rule="unknown_field")
        disputes = services.credit_file(borrower_id=borrower_id).disputes
        items = [dispute_to_dict(d) for d in disputes if status is None or d.status.value == status]
        paginator = Pagination()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(page)

    @extend_schema(
        request=InputSerializer,
        responses={201: OpenApiTypes.OBJECT, 503: ErrorSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="credit_disputes_open",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        dispute = services.open_dispute(
            borrower_id=data["borrower"],
            lender_mfi=data["lender_mfi"],
            loan_ref=data["loan_ref"],
            reason=data["reason"],
            actor=actor_of(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return Response(dispute_to_dict(dispute), status=201)


class CreditDisputeResolveApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        resolution = serializers.CharField(max_length=1000)

    @extend_schema(
        request=InputSerializer,
        responses={200: OpenApiTypes.OBJECT, 503: ErrorSerializer},
        operation_id="credit_disputes_resolve",
    )
    def post(self, request: Request, dispute_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dispute = services.resolve_dispute(
            dispute_id=dispute_id, resolution=body.validated_data["resolution"], actor=actor_of(request)
        )
        return Response(dispute_to_dict(dispute))
