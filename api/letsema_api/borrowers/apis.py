"""``/api/v1/borrowers/`` and its sub-resources: thin APIs (input serializer → service → output).

Identifiers are shown masked (last 4 characters); the phone only on a single borrower.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts.permissions import Action, principal_of
from letsema_api.borrowers import models, selectors, services
from letsema_api.common.pagination import CursorPagination
from letsema_api.common.serializers import InputSerializer, MoneyField
from letsema_core.borrowers import Borrower, Consent
from letsema_core.errors import NotFound

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False, description="A repeat returns the first result."
)


def actor_of(request: Request) -> str:
    principal = principal_of(request)
    assert principal is not None  # ActionPermission ran first
    return principal.name


def require_borrower(borrower_id: str) -> None:
    if not selectors.borrower_exists(borrower_id=borrower_id):
        raise NotFound(entity="borrower", key=borrower_id)


class IdentifierInputSerializer(InputSerializer):
    type = serializers.CharField(max_length=32)
    value = serializers.CharField(max_length=64)


class IdentifierOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    type = serializers.CharField()
    masked = serializers.CharField()


class IdentifierRowOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    type = serializers.CharField()
    masked = serializers.CharField()
    added_at = serializers.DateTimeField()


class BorrowerListOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    district = serializers.CharField()
    gender = serializers.CharField(allow_null=True)
    monthly_income = MoneyField()
    identifiers = serializers.SerializerMethodField()
    created_by = serializers.CharField()
    created_on = serializers.DateField()

    def get_identifiers(self, row: models.Borrower) -> list[dict[str, str]]:
        return [{"type": i.type, "masked": i.masked} for i in row.identifier_rows.all()]


class SuspicionOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    borrower_id = serializers.CharField()
    matching_borrower_id = serializers.CharField()
    reason = serializers.CharField()
    detected_on = serializers.DateField()


class BorrowerOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    date_of_birth = serializers.DateField()
    district = serializers.CharField()
    gender = serializers.CharField(allow_null=True)
    phone = serializers.CharField()
    monthly_income = MoneyField()
    identifiers = IdentifierOutputSerializer(many=True)
    created_by = serializers.CharField()
    created_on = serializers.DateField()
    duplicate_suspicions = SuspicionOutputSerializer(many=True)


def borrower_data(borrower: Borrower, suspicions: Any) -> dict[str, Any]:
    return {
        "id": borrower.id,
        "first_name": borrower.first_name,
        "last_name": borrower.last_name,
        "date_of_birth": borrower.date_of_birth,
        "district": borrower.district.value,
        "gender": borrower.gender.value if borrower.gender else None,
        "phone": borrower.phone.e164,
        "monthly_income": borrower.monthly_income,
        "identifiers": [{"type": i.type.value, "masked": i.masked} for i in borrower.identifiers],
        "created_by": borrower.created_by,
        "created_on": borrower.created_on,
        "duplicate_suspicions": list(suspicions),
    }


def borrower_response(borrower_id: str, *, status: int = 200) -> Response:
    repository = services.borrower_repository()
    borrower = repository.get(borrower_id)
    data = borrower_data(borrower, repository.suspicions_for(borrower_id))
    return Response(BorrowerOutputSerializer(data).data, status=status)


class BorrowerListCreateApi(APIView):  # type: ignore[misc]
    pagination_class = CursorPagination  # documents the paginated envelope and its parameters in the schema
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        first_name = serializers.CharField(max_length=200)
        last_name = serializers.CharField(max_length=200)
        date_of_birth = serializers.DateField()
        district = serializers.CharField(max_length=32)
        gender = serializers.CharField(max_length=16, required=False, allow_null=True, default=None)
        phone = serializers.CharField(max_length=32)
        monthly_income = MoneyField(max_value="999999999999.99")
        identifiers = IdentifierInputSerializer(many=True, max_length=10)  # the core refuses an empty list

    @extend_schema(
        responses=BorrowerListOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("district", str, enum=[c for c, _ in models.DISTRICT_CHOICES]),
            OpenApiParameter("search", str, description="Any part of the name (accents and case ignored)."),
            OpenApiParameter("created_from", str, description="Registered on or after (YYYY-MM-DD)."),
            OpenApiParameter("created_to", str, description="Registered on or before (YYYY-MM-DD)."),
        ],
        operation_id="borrowers_list",
    )
    def get(self, request: Request) -> Response:
        paginator = CursorPagination()
        page = paginator.paginate_queryset(selectors.borrower_list(filters=request.query_params), request, view=self)
        return paginator.get_paginated_response(BorrowerListOutputSerializer(page, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: BorrowerOutputSerializer, 200: BorrowerOutputSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="borrowers_create",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        registration, created = services.register(
            first_name=data["first_name"],
            last_name=data["last_name"],
            date_of_birth=data["date_of_birth"],
            district=data["district"],
            phone=data["phone"],
            monthly_income=data["monthly_income"],
            identifiers=[dict(item) for item in data["identifiers"]],
            gender=data["gender"],
            actor=actor_of(request),
            on=timezone.localdate(),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        if not created:
            return borrower_response(registration.borrower.id)
        out = borrower_data(registration.borrower, registration.suspicions)
        return Response(BorrowerOutputSerializer(out).data, status=201)


class BorrowerDetailApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "PATCH": Action.WRITE}

    class InputSerializer(InputSerializer):
        phone = serializers.CharField(max_length=32, required=False)
        district = serializers.CharField(max_length=32, required=False)

    @extend_schema(responses=BorrowerOutputSerializer, operation_id="borrowers_retrieve")
    def get(self, request: Request, borrower_id: str) -> Response:
        return borrower_response(borrower_id)

    @extend_schema(request=InputSerializer, responses=BorrowerOutputSerializer, operation_id="borrowers_update")
    def patch(self, request: Request, borrower_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        services.update_contact(
            borrower_id=borrower_id, phone=data.get("phone"), district=data.get("district"), actor=actor_of(request)
        )
        return borrower_response(borrower_id)


class BorrowerIdentifiersApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        type = serializers.CharField(max_length=32)
        value = serializers.CharField(max_length=64)

    class OutputListSerializer(serializers.Serializer):  # type: ignore[misc]
        results = IdentifierRowOutputSerializer(many=True)

    @extend_schema(responses=OutputListSerializer, operation_id="borrowers_identifiers_list")
    def get(self, request: Request, borrower_id: str) -> Response:
        require_borrower(borrower_id)
        rows = selectors.identifiers_of(borrower_id=borrower_id)
        return Response({"results": IdentifierRowOutputSerializer(rows, many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputListSerializer, 200: OutputListSerializer},
        operation_id="borrowers_identifiers_add",
    )
    def post(self, request: Request, borrower_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        added = services.add_identifier(
            borrower_id=borrower_id,
            type=body.validated_data["type"],
            value=body.validated_data["value"],
            actor=actor_of(request),
            on=timezone.localdate(),
        )
        rows = selectors.identifiers_of(borrower_id=borrower_id)
        return Response({"results": IdentifierRowOutputSerializer(rows, many=True).data}, status=201 if added else 200)


class ConsentOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.CharField()
    borrower_id = serializers.CharField()
    purpose = serializers.CharField()
    method = serializers.CharField()
    granted_at = serializers.DateTimeField()
    recorded_by = serializers.CharField()
    reference = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.BooleanField()


def consent_data(consent: Consent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "borrower_id": consent.borrower_id,
        "purpose": consent.purpose.value,
        "method": consent.method.value,
        "granted_at": consent.granted_at,
        "recorded_by": consent.recorded_by,
        "reference": consent.reference,
        "expires_at": consent.expires_at,
        "revoked_at": consent.revoked_at,
        "active": consent.is_active(timezone.now()),
    }


class BorrowerConsentsApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class InputSerializer(InputSerializer):
        purpose = serializers.CharField(max_length=32)
        method = serializers.CharField(max_length=32)
        reference = serializers.CharField(max_length=200)
        granted_at = serializers.DateTimeField(required=False, default=None)
        expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    class OutputListSerializer(serializers.Serializer):  # type: ignore[misc]
        results = ConsentOutputSerializer(many=True)

    @extend_schema(responses=OutputListSerializer, operation_id="borrowers_consents_list")
    def get(self, request: Request, borrower_id: str) -> Response:
        require_borrower(borrower_id)
        consents = services.consent_repository().for_borrower(borrower_id)
        return Response({"results": ConsentOutputSerializer([consent_data(c) for c in consents], many=True).data})

    @extend_schema(
        request=InputSerializer,
        responses={201: ConsentOutputSerializer, 200: ConsentOutputSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        operation_id="borrowers_consents_record",
    )
    def post(self, request: Request, borrower_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        consent, created = services.grant_consent(
            borrower_id=borrower_id,
            purpose=data["purpose"],
            method=data["method"],
            granted_at=data["granted_at"] or timezone.now(),
            reference=data["reference"],
            expires_at=data["expires_at"],
            actor=actor_of(request),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        return Response(ConsentOutputSerializer(consent_data(consent)).data, status=201 if created else 200)


class ConsentRevokeApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"POST": Action.WRITE}

    @extend_schema(request=None, responses=ConsentOutputSerializer, operation_id="borrowers_consents_revoke")
    def post(self, request: Request, borrower_id: str, consent_id: str) -> Response:
        consent = services.withdraw_consent(borrower_id=borrower_id, consent_id=consent_id, actor=actor_of(request))
        return Response(ConsentOutputSerializer(consent_data(consent)).data)


class VerificationOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.UUIDField()
    borrower_id = serializers.CharField()
    result = serializers.CharField()
    checks = serializers.ListField(child=serializers.DictField())
    verified_by = serializers.CharField()
    verified_at = serializers.DateTimeField()


class BorrowerVerifyApi(APIView):  # type: ignore[misc]
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.READ, "POST": Action.WRITE}

    class OutputListSerializer(serializers.Serializer):  # type: ignore[misc]
        results = VerificationOutputSerializer(many=True)

    @extend_schema(responses=OutputListSerializer, operation_id="borrowers_verifications_list")
    def get(self, request: Request, borrower_id: str) -> Response:
        require_borrower(borrower_id)
        rows = selectors.verifications_of(borrower_id=borrower_id)
        return Response({"results": VerificationOutputSerializer(rows, many=True).data})

    @extend_schema(request=None, responses={201: VerificationOutputSerializer}, operation_id="borrowers_verify")
    def post(self, request: Request, borrower_id: str) -> Response:
        row, _ = services.verify(borrower_id=borrower_id, actor=actor_of(request), on=timezone.localdate())
        return Response(VerificationOutputSerializer(row).data, status=201)
