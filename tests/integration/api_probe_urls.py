"""URLs for API tests: the tenant's own URLs plus probe views that exercise the error handler and
ATOMIC_REQUESTS (a view that writes and then fails; a view that crashes)."""

from __future__ import annotations

from django.urls import include, path
from letsema_api.accounts.permissions import Action
from letsema_api.common import serializers as common
from letsema_api.common.audit import record_audit
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from letsema_core.errors import DomainError


class ProbeRefused(DomainError):
    code = "probe_refused"
    http_status = 422


class WriteThenFailApi(APIView):  # type: ignore[misc]
    required_action = Action.WRITE

    class InputSerializer(common.InputSerializer):
        marker = common.MoneyField()

    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        record_audit(actor="probe", action="probe_write", entity="probe", entity_id=body.validated_data["marker"])
        raise ProbeRefused("the probe refuses after writing", details={"field": "marker", "rule": "probe"})


class DuplicateRowApi(APIView):  # type: ignore[misc]
    """Writes an audit event, then inserts a user whose username is taken (a database conflict)."""

    required_action = Action.WRITE

    def post(self, request: Request) -> Response:
        from letsema_api.accounts.models import User

        username = str(request.data["username"])
        record_audit(actor="probe", action="probe_duplicate", entity="user", entity_id=username)
        User.objects.create(username=username, role="auditor")
        return Response(status=201)


class CrashApi(APIView):  # type: ignore[misc]
    required_action = Action.READ

    def get(self, request: Request) -> Response:
        raise RuntimeError("unexpected")


urlpatterns = [
    path("probe/write-then-fail/", WriteThenFailApi.as_view()),
    path("probe/crash/", CrashApi.as_view()),
    path("probe/duplicate/", DuplicateRowApi.as_view()),
    path("", include("letsema_api.urls")),
]
handler404 = "letsema_api.common.errors.not_found"
handler500 = "letsema_api.common.errors.server_error"
