"""Reads run outside the request transaction, writes inside one (``common.transactions``).

The loan, schedule, loan-list and borrower reads are the busiest endpoints; each used to pay a ``BEGIN`` and
a ``COMMIT`` round trip for a transaction that gives a read nothing at READ COMMITTED. A write through the
same view must stay all-or-nothing."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

import pytest

from tests.integration.conftest import DjangoApi
from tests.integration.test_api_borrowers import Api, register

pytestmark = [pytest.mark.integration]


@pytest.fixture
def officer(django_api: DjangoApi, make_user: Any, bearer: Any) -> Api:
    from rest_framework.test import APIClient

    user = make_user("loan_officer")
    return Api(APIClient(), bearer(user), user)


def statements(call: Any) -> tuple[Any, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = call()
    return response, [q["sql"] for q in queries.captured_queries]


def transaction_statements(sql: list[str]) -> list[str]:
    return [s for s in sql if s.split(" ", 1)[0] in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}]


class TestReadsOutsideTheRequestTransaction:
    @pytest.mark.parametrize(
        ("url", "status"),
        [
            ("/api/v1/loans/?status=active", 200),
            ("/api/v1/loans/no-such-loan/", 404),
            ("/api/v1/loans/no-such-loan/schedule/", 404),
        ],
    )
    def test_a_loan_read_sends_no_begin_or_commit(self, officer: Api, url: str, status: int) -> None:
        response, sql = statements(lambda: officer.get(url))
        assert response.status_code == status, response.content
        assert sql, "the token check reads the database"
        assert transaction_statements(sql) == []

    def test_a_borrower_read_sends_no_begin_or_commit_and_its_update_is_one_transaction(self, officer: Api) -> None:
        borrower = register(officer)
        url = f"/api/v1/borrowers/{borrower['id']}/"
        response, sql = statements(lambda: officer.get(url))
        assert response.status_code == 200, response.content
        assert response.json()["id"] == borrower["id"]
        assert transaction_statements(sql) == []

        response, sql = statements(lambda: officer.patch(url, {"phone": "+266 5812 3499"}))
        assert response.status_code == 200, response.content
        assert (sql[0], sql[-1]) == ("BEGIN", "COMMIT")
        assert officer.get(url).json()["phone"] == "+26658123499"

    def test_a_write_through_such_a_view_is_rolled_back_when_it_fails(self, django_api: DjangoApi) -> None:
        from django.utils import timezone
        from letsema_api.common.models import AuditEvent
        from letsema_api.common.transactions import reads_outside_transaction
        from rest_framework.permissions import AllowAny
        from rest_framework.request import Request
        from rest_framework.response import Response
        from rest_framework.test import APIRequestFactory
        from rest_framework.views import APIView

        from letsema_core.errors import ValidationError

        entity_id = f"rot-{uuid.uuid4().hex[:12]}"

        class HalfWrite(APIView):  # type: ignore[misc]
            authentication_classes: ClassVar[list[Any]] = []
            permission_classes: ClassVar[list[Any]] = [AllowAny]

            def get(self, request: Request) -> Response:
                from django.db import connection

                return Response({"in_transaction": connection.in_atomic_block})

            def post(self, request: Request) -> Response:
                AuditEvent.objects.create(
                    occurred_at=timezone.now(), actor="test", action="half.write", entity="test", entity_id=entity_id
                )
                raise ValidationError("refused after the first write", field="body", rule="test")

        view = reads_outside_transaction(HalfWrite)
        assert view.cls is HalfWrite  # type: ignore[attr-defined]  # what drf-spectacular reads
        factory = APIRequestFactory()
        assert view(factory.get("/")).data == {"in_transaction": False}
        response = view(factory.post("/", {}, format="json"))
        assert response.status_code == 400
        assert not AuditEvent.objects.filter(entity_id=entity_id).exists()


class TestTheTokenCheckOnReads:
    """The token is read on every request (nothing cached), so a change to it counts on the very next one."""

    def test_a_revoked_or_expired_token_is_refused_on_the_next_request(self, officer: Api) -> None:
        from datetime import timedelta

        from django.utils import timezone
        from oauth2_provider.models import AccessToken

        url = "/api/v1/loans/?status=active"
        raw = officer.headers["Authorization"].removeprefix("Bearer ")
        token = AccessToken.objects.get(token=raw)
        assert officer.get(url).status_code == 200

        AccessToken.objects.filter(pk=token.pk).update(expires=timezone.now() - timedelta(seconds=1))
        assert officer.get(url).status_code == 401

        AccessToken.objects.filter(pk=token.pk).update(expires=timezone.now() + timedelta(hours=1))
        assert officer.get(url).status_code == 200
        token.revoke()  # what POST /o/revoke_token/ does
        assert officer.get(url).status_code == 401

    def test_an_unknown_token_is_refused(self, officer: Api) -> None:
        officer.headers["Authorization"] = "Bearer not-a-token-anyone-was-given"
        assert officer.get("/api/v1/loans/?status=active").status_code == 401
