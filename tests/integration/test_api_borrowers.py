"""``/api/v1/borrowers/`` end to end: DRF's APIClient with real OAuth access tokens (from the
``bearer`` fixture: django-oauth-toolkit tokens checked by its authentication class) against the
real PostgreSQL and OpenBao (Transit encryption and HMAC lookup keys).

Rows these tests write are committed (as a deployment would), so every borrower gets fresh random
ID numbers and names."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import pytest

from tests.integration.conftest import DjangoApi

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


def random_national_id() -> str:
    return f"{secrets.randbelow(10**12):012d}"


def random_name() -> str:
    # Letters only: names are compared normalised, and digits would survive normalisation.
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(10)).capitalize()


def registration(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": random_name(),
        "last_name": "Mokoena",
        "date_of_birth": "1990-05-17",
        "district": "maseru",
        "phone": "+266 5812 3456",
        "monthly_income": "4500.00",
        "identifiers": [{"type": "lesotho_national_id", "value": random_national_id()}],
    }
    body.update(overrides)
    return body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    return body


class Api:
    """An APIClient acting as one user of a given role with a real OAuth access token."""

    def __init__(self, client: Any, authorization: str, user: Any) -> None:
        self.client = client
        self.user = user
        self.headers = {"Authorization": authorization}

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params, headers=self.headers)

    def post(self, url: str, body: Any = None, **headers: str) -> Any:
        return self.client.post(url, body or {}, format="json", headers={**self.headers, **headers})

    def patch(self, url: str, body: Any) -> Any:
        return self.client.patch(url, body, format="json", headers=self.headers)


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


def register(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/v1/borrowers/", registration(**overrides))
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


class TestRegisterBorrower:
    def test_registration_normalises_and_masks(self, officer: Api) -> None:
        national_id = random_national_id()
        spaced = f"{national_id[:4]} {national_id[4:8]}-{national_id[8:]}"
        body = register(
            officer,
            first_name="  Tšepo ",
            phone="5812 3456",
            identifiers=[{"type": "lesotho_national_id", "value": spaced}],
        )
        uuid.UUID(body["id"])
        assert body["first_name"] == "Tšepo"
        assert body["phone"] == "+26658123456"
        assert body["monthly_income"] == "4500.00"
        assert body["identifiers"] == [{"type": "lesotho_national_id", "masked": "********" + national_id[-4:]}]
        assert body["created_by"] == officer.user.username
        assert body["duplicate_suspicions"] == []

    def test_registration_is_audited_without_the_id_number(self, officer: Api) -> None:
        from letsema_api.common.models import AuditEvent

        national_id = random_national_id()
        body = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        event = AuditEvent.objects.get(entity="borrower", entity_id=body["id"], action="borrower.registered")
        assert event.actor == officer.user.username
        assert national_id not in str(event.after)
        assert event.after["identifiers"][0]["masked"].endswith(national_id[-4:])

    def test_tables_hold_no_plaintext_national_id_or_phone(self, officer: Api) -> None:
        from django.db import connection

        national_id = random_national_id()
        body = register(
            officer, phone="+266 6299 1177", identifiers=[{"type": "lesotho_national_id", "value": national_id}]
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM borrowers_borrower")
            borrowers = [" ".join(map(str, row)) for row in cursor.fetchall()]
            cursor.execute("SELECT * FROM borrowers_borroweridentifier")
            identifiers = [" ".join(map(str, row)) for row in cursor.fetchall()]
        mine = [row for row in borrowers if body["id"] in row]
        assert len(mine) == 1
        assert "62991177" not in mine[0]
        assert not any(national_id in row for row in borrowers + identifiers)
        assert any(body["id"] in row and "vault:v" in row for row in identifiers)

    def test_a_repeated_idempotency_key_registers_one_borrower(self, officer: Api) -> None:
        from letsema_api.borrowers.models import Borrower

        body = registration()
        key = uuid.uuid4().hex
        first = officer.post("/api/v1/borrowers/", body, **{"Idempotency-Key": key})
        again = officer.post("/api/v1/borrowers/", body, **{"Idempotency-Key": key})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        assert Borrower.objects.filter(first_name=body["first_name"]).count() == 1

    def test_second_holder_of_an_id_number_is_refused_with_409(self, officer: Api) -> None:
        national_id = random_national_id()
        first = register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        response = officer.post(
            "/api/v1/borrowers/",
            registration(identifiers=[{"type": "lesotho_national_id", "value": national_id}]),
        )
        body = assert_error(response, 409, "duplicate_identifier")
        assert body["details"]["existing_borrower_id"] == first["id"]
        assert body["details"]["rule"] == "unique"

    def test_same_name_and_birth_date_is_flagged_not_refused(self, officer: Api) -> None:
        name = random_name()
        first = register(officer, first_name=name, last_name="Ntlo")
        second = register(officer, first_name=name.upper(), last_name="ntlo")
        assert second["duplicate_suspicions"] == [
            {
                "borrower_id": second["id"],
                "matching_borrower_id": first["id"],
                "reason": "same_name_and_date_of_birth",
                "detected_on": second["created_on"],
            }
        ]
        detail = officer.get(f"/api/v1/borrowers/{first['id']}/").json()
        assert [s["borrower_id"] for s in detail["duplicate_suspicions"]] == [second["id"]]

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"identifiers": [{"type": "lesotho_national_id", "value": "12345"}]}, "identifiers[0]", "length"),
            ({"identifiers": [{"type": "south_african_id", "value": "8001015009086"}]}, "identifiers[0]", "luhn"),
            ({"identifiers": []}, "identifiers", "required"),
            ({"district": "gauteng"}, "district", "choice"),
            ({"phone": "12"}, "phone", "length"),
            ({"date_of_birth": "2999-01-01"}, "date_of_birth", "past"),
            ({"monthly_income": 4500.5}, "monthly_income", "money_format"),
            ({"nickname": "Pali"}, "nickname", "unknown_field"),
        ],
    )
    def test_bad_input_names_the_field_and_rule(
        self, officer: Api, change: dict[str, Any], field: str, rule: str
    ) -> None:
        from letsema_api.borrowers.models import Borrower

        before = Borrower.objects.count()
        body = assert_error(officer.post("/api/v1/borrowers/", registration(**change)), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == (field, rule)
        assert Borrower.objects.count() == before

    @pytest.mark.parametrize("role", ["auditor", "integration"])
    def test_roles_that_write_nothing_cannot_register(self, as_role: Any, role: str) -> None:
        body = assert_error(as_role(role).post("/api/v1/borrowers/", registration()), 403, "role_not_allowed")
        assert body["details"]["role"] == role

    def test_without_a_token_is_401(self, django_api: DjangoApi) -> None:
        from rest_framework.test import APIClient

        assert_error(APIClient().get("/api/v1/borrowers/"), 401, "not_authenticated")


class TestListBorrowers:
    def test_filters_by_district_name_and_registration_date(self, officer: Api, as_role: Any) -> None:
        name = random_name()
        in_leribe = register(officer, first_name=name, district="leribe")
        register(officer, first_name=name, district="berea", date_of_birth="1980-01-01")
        auditor = as_role("auditor")
        response = auditor.get("/api/v1/borrowers/", district="leribe", search=name.lower())
        assert response.status_code == 200, response.content
        page = response.json()
        assert set(page) == {"next", "previous", "results"}
        assert [b["id"] for b in page["results"]] == [in_leribe["id"]]
        assert "phone" not in page["results"][0]
        today = in_leribe["created_on"]
        same_day = auditor.get("/api/v1/borrowers/", search=name, created_from=today, created_to=today).json()
        assert len(same_day["results"]) == 2
        assert auditor.get("/api/v1/borrowers/", search=name, created_to="2000-01-01").json()["results"] == []

    def test_pages_hold_at_most_page_size_and_the_cursor_links_walk_every_row_once(self, officer: Api) -> None:
        name = random_name()
        ids = [register(officer, first_name=name)["id"] for _ in range(3)]
        page = officer.get("/api/v1/borrowers/", search=name, page_size=2).json()
        assert "count" not in page
        assert len(page["results"]) == 2
        assert page["previous"] is None
        second = officer.get(page["next"]).json()
        assert second["next"] is None
        assert [b["id"] for b in page["results"] + second["results"]] == ids[::-1]  # newest first
        back = officer.get(second["previous"]).json()
        assert [b["id"] for b in back["results"]] == [b["id"] for b in page["results"]]
        assert back["previous"] is None

    def test_page_numbers_and_foreign_cursors_are_a_400(self, officer: Api) -> None:
        body = assert_error(officer.get("/api/v1/borrowers/", page=2), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("page", "unknown_field")
        body = assert_error(officer.get("/api/v1/borrowers/", cursor="not-a-cursor"), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("cursor", "invalid")
        body = assert_error(officer.get("/api/v1/borrowers/", page_size=0), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("page_size", "positive_integer")

    def test_a_bad_filter_is_400(self, officer: Api) -> None:
        body = assert_error(officer.get("/api/v1/borrowers/", created_from="yesterday"), 400, "validation_error")
        assert body["details"]["field"] == "created_from"
        body = assert_error(officer.get("/api/v1/borrowers/", district="gauteng"), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("district", "invalid_choice")


class TestBorrowerDetail:
    def test_retrieve_decrypts_the_phone(self, officer: Api, as_role: Any) -> None:
        created = register(officer, phone="62991177")
        body = as_role("auditor").get(f"/api/v1/borrowers/{created['id']}/").json()
        assert body["phone"] == "+26662991177"
        assert body["identifiers"] == created["identifiers"]

    def test_retrieve_makes_one_transit_call_for_the_phone_and_every_identifier(self, officer: Api) -> None:
        from tests.integration.test_api_borrowers_repositories import transit_decrypts

        created = register(officer)
        passport = {"type": "passport", "value": f"RB{secrets.randbelow(10**7):07d}"}
        assert officer.post(f"/api/v1/borrowers/{created['id']}/identifiers/", passport).status_code == 201
        with transit_decrypts() as decrypt:
            body = officer.get(f"/api/v1/borrowers/{created['id']}/").json()
        assert [i["type"] for i in body["identifiers"]] == ["lesotho_national_id", "passport"]
        assert decrypt.call_count == 1

    def test_unknown_borrower_is_404(self, officer: Api) -> None:
        body = assert_error(officer.get(f"/api/v1/borrowers/{uuid.uuid4()}/"), 404, "not_found")
        assert body["details"]["entity"] == "borrower"

    def test_contact_fields_can_be_changed_and_are_audited(self, officer: Api) -> None:
        from letsema_api.common.models import AuditEvent

        created = register(officer)
        response = officer.patch(
            f"/api/v1/borrowers/{created['id']}/", {"phone": "+266 5700 0001", "district": "quthing"}
        )
        assert response.status_code == 200, response.content
        assert (response.json()["phone"], response.json()["district"]) == ("+26657000001", "quthing")
        event = AuditEvent.objects.get(entity_id=created["id"], action="borrower.contact_updated")
        assert event.before == {"district": "maseru"}
        assert event.after == {"district": "quthing", "phone_changed": True}

    def test_names_cannot_be_changed_as_contact_fields(self, officer: Api) -> None:
        created = register(officer)
        body = assert_error(
            officer.patch(f"/api/v1/borrowers/{created['id']}/", {"first_name": "Other"}), 400, "validation_error"
        )
        assert body["details"]["rule"] == "unknown_field"

    def test_a_bad_phone_is_refused_and_nothing_changes(self, officer: Api) -> None:
        created = register(officer)
        body = assert_error(
            officer.patch(f"/api/v1/borrowers/{created['id']}/", {"phone": "0123"}), 400, "validation_error"
        )
        assert body["details"]["field"] == "phone"
        assert officer.get(f"/api/v1/borrowers/{created['id']}/").json()["phone"] == "+26658123456"

    def test_auditor_cannot_change_contact_fields(self, officer: Api, as_role: Any) -> None:
        created = register(officer)
        response = as_role("auditor").patch(f"/api/v1/borrowers/{created['id']}/", {"district": "berea"})
        assert_error(response, 403, "role_not_allowed")


class TestIdentifiers:
    def test_an_added_passport_is_listed_masked(self, officer: Api) -> None:
        created = register(officer)
        passport = f"RA{secrets.randbelow(10**7):07d}"
        response = officer.post(
            f"/api/v1/borrowers/{created['id']}/identifiers/", {"type": "passport", "value": passport}
        )
        assert response.status_code == 201, response.content
        listed = officer.get(f"/api/v1/borrowers/{created['id']}/identifiers/").json()["results"]
        assert [(i["type"], i["masked"]) for i in listed] == [
            ("lesotho_national_id", created["identifiers"][0]["masked"]),
            ("passport", "*****" + passport[-4:]),
        ]

    def test_adding_an_identifier_again_changes_nothing(self, officer: Api) -> None:
        created = register(officer)
        url = f"/api/v1/borrowers/{created['id']}/identifiers/"
        passport = {"type": "passport", "value": f"RB{secrets.randbelow(10**7):07d}"}
        assert officer.post(url, passport).status_code == 201
        again = officer.post(url, passport)
        assert again.status_code == 200, again.content
        assert len(again.json()["results"]) == 2

    def test_an_identifier_held_by_another_borrower_is_409(self, officer: Api) -> None:
        national_id = random_national_id()
        register(officer, identifiers=[{"type": "lesotho_national_id", "value": national_id}])
        other = register(officer)
        response = officer.post(
            f"/api/v1/borrowers/{other['id']}/identifiers/", {"type": "lesotho_national_id", "value": national_id}
        )
        assert_error(response, 409, "duplicate_identifier")
        assert len(officer.get(f"/api/v1/borrowers/{other['id']}/identifiers/").json()["results"]) == 1

    def test_a_malformed_identifier_is_400(self, officer: Api) -> None:
        created = register(officer)
        response = officer.post(f"/api/v1/borrowers/{created['id']}/identifiers/", {"type": "passport", "value": "AB"})
        body = assert_error(response, 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("value", "format")

    def test_identifiers_of_an_unknown_borrower_are_404(self, officer: Api) -> None:
        assert_error(officer.get(f"/api/v1/borrowers/{uuid.uuid4()}/identifiers/"), 404, "not_found")


def grant(api: Api, borrower_id: str, **overrides: Any) -> Any:
    body = {"purpose": "credit_sharing", "method": "written", "reference": f"FORM-{secrets.randbelow(10**6)}"}
    body.update(overrides)
    return api.post(f"/api/v1/borrowers/{borrower_id}/consents/", body)


class TestConsents:
    def test_recorded_consent_is_active_and_listed(self, officer: Api) -> None:
        created = register(officer)
        response = grant(officer, created["id"], reference="FORM-0001")
        assert response.status_code == 201, response.content
        consent = response.json()
        assert (consent["purpose"], consent["reference"], consent["active"]) == ("credit_sharing", "FORM-0001", True)
        assert consent["recorded_by"] == officer.user.username
        listed = officer.get(f"/api/v1/borrowers/{created['id']}/consents/").json()["results"]
        assert [c["id"] for c in listed] == [consent["id"]]

    def test_a_repeated_idempotency_key_records_one_consent(self, officer: Api) -> None:
        created = register(officer)
        url = f"/api/v1/borrowers/{created['id']}/consents/"
        body = {"purpose": "credit_report", "method": "digital", "reference": "APP-77"}
        first = officer.post(url, body, **{"Idempotency-Key": "k-1"})
        again = officer.post(url, body, **{"Idempotency-Key": "k-1"})
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        assert len(officer.get(url).json()["results"]) == 1

    def test_revoking_ends_the_consent(self, officer: Api) -> None:
        created = register(officer)
        consent = grant(officer, created["id"]).json()
        response = officer.post(f"/api/v1/borrowers/{created['id']}/consents/{consent['id']}/revoke/")
        assert response.status_code == 200, response.content
        assert response.json()["active"] is False
        assert response.json()["revoked_at"] is not None

    def test_a_consent_of_another_borrower_cannot_be_revoked_through_this_one(self, officer: Api) -> None:
        first, second = register(officer), register(officer)
        consent = grant(officer, first["id"]).json()
        response = officer.post(f"/api/v1/borrowers/{second['id']}/consents/{consent['id']}/revoke/")
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize(
        ("change", "field", "rule"),
        [
            ({"purpose": "marketing"}, "purpose", "choice"),
            ({"method": "telepathy"}, "method", "choice"),
            ({"reference": "   "}, "reference", "blank"),
            (
                {"granted_at": "2026-01-05T09:00:00+02:00", "expires_at": "2026-01-04T09:00:00+02:00"},
                "expires_at",
                "after_grant",
            ),
        ],
    )
    def test_a_bad_consent_names_the_field_and_rule(
        self, officer: Api, change: dict[str, Any], field: str, rule: str
    ) -> None:
        created = register(officer)
        body = assert_error(grant(officer, created["id"], **change), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == (field, rule)

    def test_consent_for_an_unknown_borrower_is_404(self, officer: Api) -> None:
        assert_error(grant(officer, str(uuid.uuid4())), 404, "not_found")


class TestVerifyIdentity:
    def test_a_clean_adult_borrower_is_verified_and_the_result_recorded(self, officer: Api) -> None:
        created = register(officer)
        response = officer.post(f"/api/v1/borrowers/{created['id']}/verify/")
        assert response.status_code == 201, response.content
        result = response.json()
        assert result["result"] == "verified"
        assert {c["check"]: c["passed"] for c in result["checks"]} == {
            "identifier_format": True,
            "identifier_unique": True,
            "duplicate_person": True,
            "adult": True,
        }
        history = officer.get(f"/api/v1/borrowers/{created['id']}/verify/").json()["results"]
        assert [v["id"] for v in history] == [result["id"]]

    def test_a_likely_duplicate_or_a_minor_needs_review(self, officer: Api) -> None:
        name = random_name()
        register(officer, first_name=name, date_of_birth="2012-02-29")
        minor_twin = register(officer, first_name=name, date_of_birth="2012-02-29")
        result = officer.post(f"/api/v1/borrowers/{minor_twin['id']}/verify/").json()
        assert result["result"] == "needs_review"
        failed = sorted(c["check"] for c in result["checks"] if not c["passed"])
        assert failed == ["adult", "duplicate_person"]

    def test_verifying_an_unknown_borrower_is_404(self, officer: Api) -> None:
        assert_error(officer.post(f"/api/v1/borrowers/{uuid.uuid4()}/verify/"), 404, "not_found")
