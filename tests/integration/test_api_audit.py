"""``/api/v1/audit-events/``: the append-only audit trail, read-only over HTTP, filtered and paginated, seen by
auditors and MFI admins only; the database itself refuses to change or delete an event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_api_lending_support import Http, as_role, error, ok
from tests.integration.test_api_reports import wait_for_replica

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role"]  # fixtures

URL = "/api/v1/audit-events/"
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def events(django_api: Any) -> dict[str, Any]:
    """Four events of a fresh actor one hour apart (committed: the table refuses deletes), on the replica too
    (the list reads from it)."""
    from letsema_api.common.models import AuditEvent

    actor = f"auditee-{uuid.uuid4().hex[:8]}"
    entity_id = uuid.uuid4().hex
    rows = [
        AuditEvent.objects.create(
            occurred_at=T0 + timedelta(hours=i),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id if entity == "loan" else "u-1",
            before={"status": "draft"} if i else None,
            after={"status": "active", "n": i},
            request_id=f"req-{actor}-{i}",
        )
        for i, (action, entity) in enumerate(
            [
                ("loan_disbursed", "loan"),
                ("repayment_recorded", "loan"),
                ("user_created", "user"),
                ("loan_closed", "loan"),
            ]
        )
    ]
    wait_for_replica(django_api)
    return {"actor": actor, "entity_id": entity_id, "ids": [row.pk for row in rows]}


def listed(user: Http, **params: str) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = ok(user.get(URL, **params))["results"]
    return results


class TestAuditEventList:
    def test_an_event_shows_who_what_when_before_after_and_request_id(self, as_role: Any, events: Any) -> None:
        [event] = listed(as_role("auditor"), actor=events["actor"], action="repayment_recorded")
        assert event == {
            "id": events["ids"][1],
            "occurred_at": "2026-06-01T11:00:00+02:00",
            "actor": events["actor"],
            "action": "repayment_recorded",
            "entity": "loan",
            "entity_id": events["entity_id"],
            "before": {"status": "draft"},
            "after": {"status": "active", "n": 1},
            "request_id": f"req-{events['actor']}-1",
        }

    def test_events_come_newest_first_and_filter_by_entity(self, as_role: Any, events: Any) -> None:
        rows = listed(as_role("mfi_admin"), actor=events["actor"], entity="loan", entity_id=events["entity_id"])
        assert [r["action"] for r in rows] == ["loan_closed", "repayment_recorded", "loan_disbursed"]

    def test_a_time_range_includes_its_start_and_excludes_its_end(self, as_role: Any, events: Any) -> None:
        rows = listed(
            as_role("auditor"),
            actor=events["actor"],
            occurred_after="2026-06-01T09:00:00Z",
            occurred_before="2026-06-01T11:00:00Z",
        )
        assert [r["id"] for r in rows] == [events["ids"][2], events["ids"][1]]

    def test_a_request_id_finds_the_events_of_that_request(self, as_role: Any, events: Any) -> None:
        rows = listed(as_role("auditor"), request_id=f"req-{events['actor']}-3")
        assert [r["id"] for r in rows] == [events["ids"][3]]

    def test_an_http_write_is_found_by_its_x_request_id(self, as_role: Any, django_api: Any) -> None:
        admin = as_role("mfi_admin")
        request_id = f"audit-{uuid.uuid4().hex}"
        username = f"teller-{uuid.uuid4().hex[:8]}"
        response = admin.client.post(
            "/api/v1/users/",
            {"username": username, "password": "Correct-Horse-Battery-9", "role": "loan_officer"},
            format="json",
            HTTP_X_REQUEST_ID=request_id,
        )
        assert response.status_code == 201, response.content
        wait_for_replica(django_api)
        [event] = listed(as_role("auditor"), request_id=request_id)
        assert (event["actor"], event["action"], event["entity"]) == (admin.user.username, "user_created", "user")
        assert event["after"]["username"] == username

    def test_the_list_reads_from_the_replica(self, as_role: Any, events: Any) -> None:
        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        auditor = as_role("auditor")
        with CaptureQueriesContext(connections["replica"]) as replica:
            assert len(listed(auditor, actor=events["actor"])) == 4
        assert [q for q in replica.captured_queries if "common_auditevent" in q["sql"]]

    def test_the_list_is_paged_by_cursor(self, as_role: Any, events: Any) -> None:
        auditor = as_role("auditor")
        page = ok(auditor.get(URL, actor=events["actor"], page_size="3"))
        assert set(page) == {"next", "previous", "results"}
        assert len(page["results"]) == 3
        second = ok(auditor.get(page["next"]))
        assert [r["id"] for r in second["results"]] == [events["ids"][0]]
        assert second["next"] is None

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"occurred_after": "yesterday"}, "occurred_after"),
            ({"actor": ""}, "actor"),
            ({"page": "2"}, "page"),
            ({"page_size": "0"}, "page_size"),
            ({"cursor": "eyJkIjogIm4iLCAiayI6IFsieCJdfQ"}, "cursor"),
        ],
    )
    def test_bad_filters_are_a_400_naming_the_parameter(self, as_role: Any, params: Any, field: str) -> None:
        body = error(as_role("auditor").get(URL, **params), 400, "validation_error")
        assert body["details"]["field"] == field

    def test_an_offset_postgresql_refuses_is_converted_to_utc_first(self, as_role: Any) -> None:
        # Python accepts offsets up to a day, PostgreSQL only up to ±15:59 (a 500 found by schemathesis).
        auditor = as_role("auditor")
        assert ok(auditor.get(URL, occurred_after="3375-10-07T11:47:19-22:54"))["results"] == []
        # Before year 1 in UTC: the earliest instant there is.
        assert ok(auditor.get(URL, occurred_before="0001-01-01T00:00:00+14:00"))["results"] == []
        assert ok(auditor.get(URL, occurred_after="0001-01-01T00:00:00+14:00", page_size="1"))["results"]


class TestAuditRoles:
    @pytest.mark.parametrize("role", ["auditor", "mfi_admin"])
    def test_auditors_and_admins_read_the_trail(self, as_role: Any, events: Any, role: str) -> None:
        assert len(listed(as_role(role), actor=events["actor"])) == 4

    @pytest.mark.parametrize("role", ["branch_manager", "loan_officer", "integration"])
    def test_other_roles_are_refused(self, as_role: Any, role: str) -> None:
        error(as_role(role).get(URL), 403, "role_not_allowed")


class TestAppendOnly:
    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_the_api_offers_no_way_to_write(self, as_role: Any, events: Any, method: str) -> None:
        from letsema_api.common.models import AuditEvent

        admin = as_role("mfi_admin")
        before = list(AuditEvent.objects.filter(actor=events["actor"]).order_by("id").values())
        body = {"actor": "mallory", "action": "loan_closed", "entity": "loan"}
        error(getattr(admin.client, method)(URL, body, format="json"), 405, "method_not_allowed")
        for event_id in events["ids"]:
            response = getattr(admin.client, method)(f"{URL}{event_id}/", body, format="json")
            assert response.status_code == 404
        assert list(AuditEvent.objects.filter(actor=events["actor"]).order_by("id").values()) == before

    def test_the_schema_documents_only_a_get(self, django_api: Any) -> None:
        import json

        from rest_framework.test import APIClient

        schema = json.loads(APIClient().get("/api/schema/", {"format": "json"}).content)
        assert set(schema["paths"][URL]) == {"get"}
        assert not [p for p in schema["paths"] if p.startswith(URL) and p != URL]

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE common_auditevent SET actor = 'mallory' WHERE id = %s",
            "DELETE FROM common_auditevent WHERE id = %s",
            "TRUNCATE common_auditevent",
        ],
    )
    def test_the_database_refuses_to_change_or_delete_an_event(self, events: Any, sql: str) -> None:
        from django.db import DatabaseError, connection, transaction
        from letsema_api.common.models import AuditEvent

        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [events["ids"][0]] if "%s" in sql else None)
        assert AuditEvent.objects.get(pk=events["ids"][0]).actor == events["actor"]

    def test_the_orm_cannot_update_or_delete_either(self, events: Any) -> None:
        from django.db import DatabaseError, transaction
        from letsema_api.common.models import AuditEvent

        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=events["ids"][0]).update(actor="mallory")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=events["ids"][0]).delete()
        assert AuditEvent.objects.filter(actor=events["actor"]).count() == 4
