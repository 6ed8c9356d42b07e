"""``/api/v1/credit-reports/``, ``/api/v1/credit-disputes/`` and ``/api/v1/borrowers/{id}/credit-file/``
through DRF's APIClient with real OAuth access tokens, on the real PostgreSQL, OpenBao (Transit HMAC
borrower keys) and the MongoDB-protocol registry (``mongo_url``: FerretDB or mongod).

Other MFIs' loans are put in the registry directly, as their relays would."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from letsema_core.credit.registry import CreditAccountEvent
from letsema_core.identity import NationalId
from tests.integration.conftest import DjangoApi
from tests.integration.test_api_borrowers import Api, assert_error, grant, random_national_id, register

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


@pytest.fixture
def as_role(django_api: DjangoApi, make_user: Any, bearer: Any) -> Any:
    from rest_framework.test import APIClient

    def make(role: str) -> Api:
        user = make_user(role)
        return Api(APIClient(), bearer(user), user)

    return make


@pytest.fixture
def officer(as_role: Any) -> Api:
    api: Api = as_role("loan_officer")
    return api


def tenant_id() -> str:
    from django.conf import settings

    return str(settings.LETSEMA.tenant_id)


def open_account_elsewhere(national_id: str, *, lender_mfi: str, loan_ref: str | None = None) -> str:
    """An active loan of ``lender_mfi`` in the registry for the holder of ``national_id``; its loan_ref."""
    from letsema_api.credit.registry_client import get_registry
    from letsema_api.vault import get_vault

    ref = loan_ref or f"L-{uuid.uuid4().hex[:10]}"
    key = get_vault().keyed_hasher().digest(NationalId.parse(national_id).lookup_input)
    get_registry().record_account_event(
        CreditAccountEvent.create(
            event_type="account_opened",
            country="LS",
            borrower_key=key,
            lender_mfi=lender_mfi,
            loan_ref=ref,
            sequence=1,
            as_of=date(2026, 1, 10),
            opened_on=date(2026, 1, 10),
            principal="5000.00",
            outstanding_balance="5000.00",
            installment_amount="480.00",
            repayment_frequency="monthly",
            status="active",
            days_past_due=0,
        )
    )
    return ref


def pull(api: Api, borrower_id: str, purpose: str = "new_loan_application", **headers: str) -> Any:
    return api.post("/api/v1/credit-reports/", {"borrower": borrower_id, "purpose": purpose}, **headers)


class TestCreditReports:
    def test_without_consent_the_report_is_refused_and_no_inquiry_is_recorded(self, officer: Api) -> None:
        borrower = register(officer)
        body = assert_error(pull(officer, borrower["id"]), 422, "consent_required")
        assert body["details"]["rule"] == "active_consent"
        credit_file = officer.get(f"/api/v1/borrowers/{borrower['id']}/credit-file/").json()
        assert credit_file["inquiries"] == []

    def test_with_consent_the_report_shows_other_mfis_and_the_inquiry_is_in_the_credit_file(self, officer: Api) -> None:
        national_id = random_national_id()
        borrower = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        open_account_elsewhere(national_id, lender_mfi="beta")
        open_account_elsewhere(national_id, lender_mfi="gamma")
        assert grant(officer, borrower["id"], reference="FORM-2026-001").status_code == 201

        response = pull(officer, borrower["id"])
        assert response.status_code == 201, response.content
        body = response.json()
        report = body["report"]
        assert (body["pulled_by"], body["consent_reference"]) == (officer.user.username, "FORM-2026-001")
        assert report["inquiring_mfi"] == tenant_id()
        assert report["active_loans_elsewhere"] == 2
        assert report["totals"]["total_outstanding"] == "10000.00"
        assert "ACTIVE_LOANS_ELSEWHERE" in [flag["code"] for flag in report["flags"]]
        assert national_id not in str(body)

        credit_file = officer.get(f"/api/v1/borrowers/{borrower['id']}/credit-file/").json()
        assert sorted(a["lender_mfi"] for a in credit_file["accounts"]) == ["beta", "gamma"]
        assert [
            (i["inquiry_id"], i["lender_mfi"], i["user"], i["purpose"], i["consent_reference"])
            for i in credit_file["inquiries"]
        ] == [(body["inquiry_id"], tenant_id(), officer.user.username, "new_loan_application", "FORM-2026-001")]

    def test_a_repeated_idempotency_key_returns_the_same_report_and_one_inquiry(self, officer: Api) -> None:
        borrower = register(officer)
        grant(officer, borrower["id"], purpose="credit_report")
        first = pull(officer, borrower["id"], **{"Idempotency-Key": "pull-1"})
        again = pull(officer, borrower["id"], **{"Idempotency-Key": "pull-1"})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        credit_file = officer.get(f"/api/v1/borrowers/{borrower['id']}/credit-file/").json()
        assert len(credit_file["inquiries"]) == 1

    def test_a_revoked_consent_no_longer_allows_a_report(self, officer: Api) -> None:
        borrower = register(officer)
        consent = grant(officer, borrower["id"]).json()
        officer.post(f"/api/v1/borrowers/{borrower['id']}/consents/{consent['id']}/revoke/")
        assert_error(pull(officer, borrower["id"]), 422, "consent_required")

    def test_the_pull_is_audited(self, officer: Api) -> None:
        from letsema_api.common.models import AuditEvent

        borrower = register(officer)
        grant(officer, borrower["id"], reference="FORM-9")
        body = pull(officer, borrower["id"]).json()
        event = AuditEvent.objects.get(entity_id=borrower["id"], action="credit_report.pulled")
        assert event.after["inquiry_id"] == body["inquiry_id"]
        assert event.after["consent_reference"] == "FORM-9"

    def test_errors(self, officer: Api, as_role: Any) -> None:
        assert_error(pull(officer, str(uuid.uuid4())), 404, "not_found")
        body = assert_error(officer.post("/api/v1/credit-reports/", {"borrower": "x"}), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("purpose", "required")
        borrower = register(officer)
        assert_error(pull(as_role("auditor"), borrower["id"]), 403, "role_not_allowed")
        assert_error(pull(as_role("integration"), borrower["id"]), 403, "role_not_allowed")


class TestCreditReportStatements:
    """What one pull costs the tenant database, pinned so a regression shows."""

    @staticmethod
    def tables_read_and_written(api: Api, borrower_id: str, **headers: str) -> tuple[Any, list[str]]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = pull(api, borrower_id, **headers)
        statements = []
        for query in queries.captured_queries:
            sql = query["sql"]
            verb = sql.split(" ", 1)[0]
            table = sql.split(' FROM "', 1)[1].split('"', 1)[0] if verb == "SELECT" else ""
            table = sql.split('INSERT INTO "', 1)[1].split('"', 1)[0] if verb == "INSERT" else table
            statements.append(f"{verb} {table}".strip())
        return response, statements

    def test_a_pull_with_a_key_reads_the_consents_once_and_needs_no_savepoint(self, officer: Api) -> None:
        borrower = register(officer)
        grant(officer, borrower["id"], reference="FORM-S1")
        response, statements = self.tables_read_and_written(
            officer, borrower["id"], **{"Idempotency-Key": f"stmt-{uuid.uuid4().hex}"}
        )
        assert response.status_code == 201, response.content
        assert statements == [
            "BEGIN",
            "SELECT oauth2_provider_accesstoken",
            "SELECT credit_creditreportpull",  # the earlier pull of this key, if any
            "SELECT borrowers_borroweridentifier",  # the registry key
            "SELECT borrowers_consent",
            "INSERT credit_creditreportpull",
            "INSERT common_auditevent",
            "COMMIT",
        ]
        assert response.json()["consent_reference"] == "FORM-S1"

    def test_a_pull_without_a_key_looks_for_no_earlier_pull(self, officer: Api) -> None:
        borrower = register(officer)
        grant(officer, borrower["id"])
        response, statements = self.tables_read_and_written(officer, borrower["id"])
        assert response.status_code == 201, response.content
        assert "SELECT credit_creditreportpull" not in statements
        assert statements.count("SELECT borrowers_consent") == 1


class TestCreditFile:
    def test_unknown_borrower_is_404(self, officer: Api) -> None:
        assert_error(officer.get(f"/api/v1/borrowers/{uuid.uuid4()}/credit-file/"), 404, "not_found")

    def test_auditor_reads_it_and_integration_cannot(self, officer: Api, as_role: Any) -> None:
        borrower = register(officer)
        response = as_role("auditor").get(f"/api/v1/borrowers/{borrower['id']}/credit-file/")
        assert response.status_code == 200, response.content
        assert response.json()["borrower_id"] == borrower["id"]
        assert response.json()["accounts"] == []
        url = f"/api/v1/borrowers/{borrower['id']}/credit-file/"
        assert_error(as_role("integration").get(url), 403, "role_not_allowed")


class TestCreditDisputes:
    def open(self, api: Api, borrower_id: str, lender_mfi: str, loan_ref: str, **headers: str) -> Any:
        body = {"borrower": borrower_id, "lender_mfi": lender_mfi, "loan_ref": loan_ref, "reason": "I repaid this loan"}
        return api.post("/api/v1/credit-disputes/", body, **headers)

    def test_a_dispute_is_listed_flagged_and_resolved_by_the_contributing_mfi(self, officer: Api) -> None:
        national_id = random_national_id()
        borrower = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        ours = open_account_elsewhere(national_id, lender_mfi=tenant_id())
        response = self.open(officer, borrower["id"], tenant_id(), ours)
        assert response.status_code == 201, response.content
        dispute = response.json()
        assert (dispute["status"], dispute["reason"]) == ("open", "I repaid this loan")

        listed = officer.get("/api/v1/credit-disputes/", borrower=borrower["id"]).json()
        assert [d["dispute_id"] for d in listed["results"]] == [dispute["dispute_id"]]
        grant(officer, borrower["id"])
        report = pull(officer, borrower["id"]).json()["report"]
        assert [d["dispute_id"] for d in report["open_disputes"]] == [dispute["dispute_id"]]

        url = f"/api/v1/credit-disputes/{dispute['dispute_id']}/resolve/"
        resolved = officer.post(url, {"resolution": "Corrected: the loan was closed in March"})
        assert resolved.status_code == 200, resolved.content
        assert (resolved.json()["status"], resolved.json()["resolution"]) == (
            "resolved",
            "Corrected: the loan was closed in March",
        )
        assert_error(officer.post(url, {"resolution": "again"}), 409, "invalid_transition")
        still_open = officer.get("/api/v1/credit-disputes/", borrower=borrower["id"], status="open").json()
        assert still_open["results"] == []

    def test_another_mfis_account_can_be_disputed_but_not_resolved_here(self, officer: Api) -> None:
        national_id = random_national_id()
        borrower = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        theirs = open_account_elsewhere(national_id, lender_mfi="beta")
        dispute = self.open(officer, borrower["id"], "beta", theirs).json()
        url = f"/api/v1/credit-disputes/{dispute['dispute_id']}/resolve/"
        body = assert_error(officer.post(url, {"resolution": "not ours"}), 403, "dispute_not_owned")
        assert body["details"]["lender_mfi"] == "beta"

    def test_a_repeated_idempotency_key_opens_one_dispute(self, officer: Api) -> None:
        national_id = random_national_id()
        borrower = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        ref = open_account_elsewhere(national_id, lender_mfi="beta")
        first = self.open(officer, borrower["id"], "beta", ref, **{"Idempotency-Key": "d-1"})
        again = self.open(officer, borrower["id"], "beta", ref, **{"Idempotency-Key": "d-1"})
        assert first.json() == again.json()
        assert officer.get("/api/v1/credit-disputes/", borrower=borrower["id"]).json()["count"] == 1

    def test_errors(self, officer: Api, as_role: Any) -> None:
        borrower = register(officer)
        assert_error(self.open(officer, borrower["id"], "beta", "NO-SUCH-LOAN"), 404, "not_found")
        body = assert_error(officer.get("/api/v1/credit-disputes/"), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("borrower", "required")
        body = assert_error(
            officer.get("/api/v1/credit-disputes/", borrower=borrower["id"], status="closed"), 400, "validation_error"
        )
        assert (body["details"]["field"], body["details"]["rule"]) == ("status", "choice")
        assert_error(
            officer.post(f"/api/v1/credit-disputes/{uuid.uuid4()}/resolve/", {"resolution": "x"}), 404, "not_found"
        )
        assert_error(self.open(as_role("auditor"), borrower["id"], "beta", "L-1"), 403, "role_not_allowed")


class TestRegistryOutage:
    @pytest.fixture
    def dead_registry(self, django_api: DjangoApi, monkeypatch: pytest.MonkeyPatch) -> None:
        import pymongo
        from letsema_api.credit import registry_client
        from letsema_api.registry.mongo import MongoCreditRegistry

        from letsema_dev.procs import LOOPBACK, free_port

        client: Any = pymongo.MongoClient(
            f"mongodb://{LOOPBACK}:{free_port()}/", serverSelectionTimeoutMS=300, connect=False
        )
        monkeypatch.setattr(registry_client, "_registry", MongoCreditRegistry.from_client(client))

    def test_an_unreachable_registry_is_a_503_and_the_pull_writes_nothing(
        self, officer: Api, dead_registry: None
    ) -> None:
        from letsema_api.credit.models import CreditReportPull

        borrower = register(officer)
        grant(officer, borrower["id"])
        assert_error(officer.get(f"/api/v1/borrowers/{borrower['id']}/credit-file/"), 503, "registry_unavailable")
        assert_error(pull(officer, borrower["id"]), 503, "registry_unavailable")
        assert not CreditReportPull.objects.filter(borrower_id=borrower["id"]).exists()
