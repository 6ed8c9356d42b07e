"""``/api/v1/me/`` and ``/api/v1/users/``: thin APIs over services and selectors."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_api.accounts import selectors, services
from letsema_api.accounts.models import ROLE_CHOICES
from letsema_api.accounts.permissions import Action, IsAuthenticatedPrincipal, principal_of
from letsema_api.common import serializers as common
from letsema_api.common.pagination import Pagination, paginated
from letsema_api.routers import with_replica_fallback
from letsema_core.loans.application import Role

#: What a username is made of (``-`` last, so it is no range). Spelled out rather than ``\w``: Python's
#: ``\w`` takes any Unicode letter, the OpenAPI schema's ECMA-262 pattern only ASCII ones, and the two must
#: accept the same names (the reports' ``?officer=`` filter uses the same set).
USERNAME_CHARACTERS = "A-Za-z0-9_.@+-"


class UserOutputSerializer(serializers.Serializer):  # type: ignore[misc]
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(help_text="empty when none was given")
    role = serializers.ChoiceField(choices=ROLE_CHOICES)
    approval_limit = common.MoneyField(allow_null=True)
    is_active = serializers.BooleanField()


PaginatedUserListSerializer = paginated(UserOutputSerializer, name="PaginatedUserList")


class MeApi(APIView):  # type: ignore[misc]
    permission_classes = (IsAuthenticatedPrincipal,)

    class OutputSerializer(serializers.Serializer):  # type: ignore[misc]
        principal = serializers.CharField()
        role = serializers.ChoiceField(choices=ROLE_CHOICES)
        scopes = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses=OutputSerializer, operation_id="me")
    def get(self, request: Request) -> Response:
        principal = principal_of(request)
        assert principal is not None  # IsAuthenticatedPrincipal
        scopes = sorted(request.auth.scope.split()) if request.auth is not None else []
        data = {"principal": principal.name, "role": principal.role.value, "scopes": scopes}
        return Response(self.OutputSerializer(data).data)


class UserListCreateApi(APIView):  # type: ignore[misc]
    # Who holds which role is part of what an auditor reviews (DOMAIN.md: auditors read everything).
    required_actions: ClassVar[dict[str, Action]] = {"GET": Action.AUDIT, "POST": Action.MANAGE_USERS}

    class InputSerializer(common.InputSerializer):
        # Not trimmed: " mpho" is refused as the schema's pattern refuses it, not quietly made "mpho".
        username = serializers.RegexField(rf"^[{USERNAME_CHARACTERS}]{{3,150}}$", trim_whitespace=False)
        password = serializers.CharField(write_only=True, max_length=128)
        role = serializers.ChoiceField(choices=ROLE_CHOICES)
        email = serializers.EmailField(required=False, default="")
        approval_limit = common.MoneyField(required=False, allow_null=True, default=None)

    class FilterSerializer(common.InputSerializer):
        role = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)
        page = serializers.IntegerField(min_value=1, required=False)
        page_size = serializers.IntegerField(min_value=1, max_value=Pagination.max_page_size, required=False)

    @extend_schema(responses=PaginatedUserListSerializer, parameters=[FilterSerializer], operation_id="users_list")
    def get(self, request: Request) -> Response:
        query = self.FilterSerializer(data=common.query_data(request))
        query.is_valid(raise_exception=True)

        def page() -> Response:
            paginator = Pagination()
            rows = paginator.paginate_queryset(
                selectors.user_list(role=query.validated_data.get("role")), request, view=self
            )
            return paginator.get_paginated_response(UserOutputSerializer(rows, many=True).data)

        return with_replica_fallback(page)

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer}, operation_id="users_create")
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        principal = principal_of(request)
        assert principal is not None
        user = services.create_user(
            username=data["username"],
            password=data["password"],
            role=Role(data["role"]),
            email=data["email"],
            approval_limit=data["approval_limit"],
            created_by=principal.name,
        )
        return Response(UserOutputSerializer(user).data, status=201)
