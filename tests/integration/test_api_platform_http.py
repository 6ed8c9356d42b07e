"""The tenant API's HTTP platform: errors, input rules, OAuth2 flows and lockout, health, metrics,
OpenAPI. Auth flows and body limits go through a live WSGI server; the rest through Django's
test client (same middleware and handlers, no socket)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.integration.conftest import TEST_PASSWORD, DjangoApi, LiveApi, unique

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

REDIRECT = "https://app.example.org/callback"


@pytest.fixture
def probe_urls() -> Iterator[None]:
    """Serve ``tests.integration.api_probe_urls`` (the real URLs plus probe views)."""
    from django.test import override_settings

    with override_settings(ROOT_URLCONF="tests.integration.api_probe_urls"):
        yield


@pytest.fixture
def client(django_api: DjangoApi) -> Any:
    from django.test import Client

    return Client(raise_request_exception=False)


@pytest.fixture
def admin(make_user: Any) -> Any:
    return make_user("mfi_admin")


def post_json(client: Any, url: str, body: Any, auth: str) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", headers={"Authorization": auth})


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code
    assert body["message"]
    return body


class TestErrorFormat:
    def test_unknown_path_is_a_json_404(self, client: Any) -> None:
        body = assert_error(client.get("/no/such/thing"), 404, "not_found")
        assert body["details"] == {"path": "/no/such/thing"}

    def test_missing_token_is_401_with_a_bearer_challenge(self, client: Any) -> None:
        response = client.get("/api/v1/users/")
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_invalid_token_is_401(self, client: Any) -> None:
        response = client.get("/api/v1/users/", headers={"Authorization": "Bearer not-a-token"})
        assert_error(response, 401, "not_authenticated")

    def test_role_without_the_action_is_403_naming_role_and_action(
        self, client: Any, make_user: Any, bearer: Any
    ) -> None:
        officer = make_user("loan_officer")
        body = assert_error(
            client.get("/api/v1/users/", headers={"Authorization": bearer(officer)}), 403, "role_not_allowed"
        )
        assert body["details"] == {"role": "loan_officer", "action": "audit"}

    def test_token_without_the_scope_is_403(self, client: Any, admin: Any, bearer: Any) -> None:
        body = assert_error(
            client.get("/api/v1/users/", headers={"Authorization": bearer(admin, "read")}), 403, "insufficient_scope"
        )
        assert body["details"] == {"required_scope": "audit"}

    def test_missing_fields_are_400_with_field_and_rule(self, client: Any, admin: Any, bearer: Any) -> None:
        body = assert_error(post_json(client, "/api/v1/users/", {}, bearer(admin)), 400, "validation_error")
        assert body["details"]["field"] == "username"
        assert body["details"]["rule"] == "required"
        assert {(e["field"], e["rule"]) for e in body["details"]["errors"]} == {
            ("username", "required"),
            ("password", "required"),
            ("role", "required"),
        }

    def test_unknown_field_is_400_naming_it(self, client: Any, admin: Any, bearer: Any) -> None:
        user = {"username": unique("u"), "password": TEST_PASSWORD, "role": "auditor", "nickname": "x"}
        body = assert_error(post_json(client, "/api/v1/users/", user, bearer(admin)), 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == ("nickname", "unknown_field")

    @pytest.mark.parametrize("amount", [1500.5, 1500, "1500.505", "1,500.00", "1e3", "-5.00", True])
    def test_money_that_is_not_a_decimal_string_is_400(self, client: Any, admin: Any, bearer: Any, amount: Any) -> None:
        user = {"username": unique("u"), "password": TEST_PASSWORD, "role": "branch_manager", "approval_limit": amount}
        body = assert_error(post_json(client, "/api/v1/users/", user, bearer(admin)), 400, "validation_error")
        assert body["details"]["field"] == "approval_limit"
        assert body["details"]["rule"] in {"money_format", "min_value"}

    def test_money_as_a_decimal_string_is_accepted_and_echoed_with_two_decimals(
        self, client: Any, admin: Any, bearer: Any
    ) -> None:
        from letsema_api.accounts.models import User

        user = {
            "username": unique("u"),
            "password": TEST_PASSWORD,
            "role": "branch_manager",
            "approval_limit": "1500.5",
        }
        response = post_json(client, "/api/v1/users/", user, bearer(admin))
        assert response.status_code == 201, response.content
        assert response.json()["approval_limit"] == "1500.50"
        assert str(User.objects.get(username=user["username"]).approval_limit) == "1500.50"

    def test_negative_zero_is_stored_as_zero(self, client: Any, admin: Any, bearer: Any) -> None:
        user = {"username": unique("u"), "password": TEST_PASSWORD, "role": "branch_manager", "approval_limit": "-0.00"}
        response = post_json(client, "/api/v1/users/", user, bearer(admin))
        assert response.status_code == 201, response.content
        assert response.json()["approval_limit"] == "0.00"

    def test_malformed_json_is_400(self, client: Any, admin: Any, bearer: Any) -> None:
        response = client.post(
            "/api/v1/users/",
            data="{not json",
            content_type="application/json",
            headers={"Authorization": bearer(admin)},
        )
        assert_error(response, 400, "parse_error")

    def test_domain_error_keeps_its_code_status_and_details(self, client: Any, admin: Any, bearer: Any) -> None:
        user = {"username": unique("u"), "password": TEST_PASSWORD, "role": "auditor"}
        assert post_json(client, "/api/v1/users/", user, bearer(admin)).status_code == 201
        body = assert_error(post_json(client, "/api/v1/users/", user, bearer(admin)), 409, "username_taken")
        assert body["details"] == {"field": "username", "rule": "unique"}

    def test_weak_password_is_refused_by_policy(self, client: Any, admin: Any, bearer: Any) -> None:
        user = {"username": unique("u"), "password": "12345678", "role": "auditor"}
        body = assert_error(post_json(client, "/api/v1/users/", user, bearer(admin)), 400, "validation_error")
        assert body["details"] == {"field": "password", "rule": "password_policy"}

    def test_a_username_takes_the_schemas_ascii_characters_only(self, client: Any, admin: Any, bearer: Any) -> None:
        # Python's \w would take "ç"; the published pattern (ECMA-262) does not, and the API must agree with it.
        for name in (unique("mpho-ç"), " " + unique("mpho"), unique("a,b")):
            user = {"username": name, "password": TEST_PASSWORD, "role": "auditor"}
            body = assert_error(post_json(client, "/api/v1/users/", user, bearer(admin)), 400, "validation_error")
            assert body["details"]["field"] == "username"

    def test_a_failed_request_writes_nothing(self, client: Any, admin: Any, bearer: Any, probe_urls: None) -> None:
        from letsema_api.common.models import AuditEvent

        body = assert_error(
            post_json(client, "/probe/write-then-fail/", {"marker": "4242.42"}, bearer(admin)), 422, "probe_refused"
        )
        assert body["details"] == {"field": "marker", "rule": "probe"}
        assert not AuditEvent.objects.filter(action="probe_write", entity_id="4242.42").exists()

    def test_a_database_conflict_is_409_and_rolls_back_the_request(
        self, client: Any, admin: Any, bearer: Any, probe_urls: None
    ) -> None:
        from letsema_api.common.models import AuditEvent

        response = post_json(client, "/probe/duplicate/", {"username": admin.username}, bearer(admin))
        assert_error(response, 409, "conflict")
        assert not AuditEvent.objects.filter(action="probe_duplicate", entity_id=admin.username).exists()

    def test_an_unexpected_exception_is_a_json_500(
        self, client: Any, admin: Any, bearer: Any, probe_urls: None
    ) -> None:
        response = client.get("/probe/crash/", headers={"Authorization": bearer(admin)})
        assert_error(response, 500, "server_error")
        assert response["X-Request-ID"]

    def test_log_lines_during_a_request_carry_its_request_id(self, django_api: DjangoApi) -> None:
        import logging

        from django.http import HttpResponse
        from django.test import RequestFactory
        from letsema_api.common.request_id import RequestIdLogFilter, RequestIdMiddleware

        records: list[logging.LogRecord] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        handler = Collect()
        handler.addFilter(RequestIdLogFilter())
        log = logging.getLogger("letsema_api.tests.request_id")
        log.addHandler(handler)

        def view(request: Any) -> HttpResponse:
            log.warning("inside")
            return HttpResponse("ok")

        try:
            response = RequestIdMiddleware(view)(RequestFactory().get("/", headers={"X-Request-ID": "trace-7"}))
            log.warning("outside")
        finally:
            log.removeHandler(handler)
        assert response["X-Request-ID"] == "trace-7"
        assert [(r.getMessage(), r.request_id) for r in records] == [("inside", "trace-7"), ("outside", "-")]  # type: ignore[attr-defined]

    def test_request_id_is_echoed_or_generated(self, client: Any) -> None:
        assert client.get("/healthz", headers={"X-Request-ID": "req-42.a"})["X-Request-ID"] == "req-42.a"
        generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})["X-Request-ID"]
        assert len(generated) == 32
        assert generated != "bad id with spaces"


class TestUsersApi:
    def test_admin_creates_a_user_and_it_is_audited_with_the_request_id(
        self, client: Any, admin: Any, bearer: Any
    ) -> None:
        from letsema_api.common.models import AuditEvent

        user = {"username": unique("u"), "password": TEST_PASSWORD, "role": "loan_officer", "email": "a@b.ls"}
        response = client.post(
            "/api/v1/users/",
            data=json.dumps(user),
            content_type="application/json",
            headers={"Authorization": bearer(admin), "X-Request-ID": "create-user-1"},
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert {k: body[k] for k in ("username", "role", "email", "approval_limit", "is_active")} == {
            "username": user["username"],
            "role": "loan_officer",
            "email": "a@b.ls",
            "approval_limit": None,
            "is_active": True,
        }
        assert "password" not in body
        event = AuditEvent.objects.get(action="user_created", entity_id=str(body["id"]))
        assert (event.actor, event.request_id) == (admin.username, "create-user-1")

    def test_list_is_paginated_and_filterable_by_role(self, client: Any, admin: Any, bearer: Any) -> None:
        response = client.get("/api/v1/users/?role=mfi_admin&page_size=2", headers={"Authorization": bearer(admin)})
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert len(body["results"]) <= 2
        assert {u["role"] for u in body["results"]} == {"mfi_admin"}

    @pytest.mark.parametrize(
        ("query", "field", "rule"),
        [
            ("role=pilot", "role", "invalid_choice"),
            ("role=", "role", "invalid_choice"),
            ("page=0", "page", "min_value"),
            ("page=1&page=2", "page", "repeated"),
            ("colour=red", "colour", "unknown_field"),
        ],
    )
    def test_bad_filters_are_400_naming_the_parameter(
        self, client: Any, admin: Any, bearer: Any, query: str, field: str, rule: str
    ) -> None:
        response = client.get(f"/api/v1/users/?{query}", headers={"Authorization": bearer(admin)})
        body = assert_error(response, 400, "validation_error")
        assert (body["details"]["field"], body["details"]["rule"]) == (field, rule)

    def test_audit_events_cannot_be_edited(self, django_api: DjangoApi, admin: Any) -> None:
        from django.db import DatabaseError, transaction
        from letsema_api.common.models import AuditEvent

        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.all().update(actor="someone else")


class TestOversizedBodies:
    def test_body_over_the_limit_is_413_json_before_the_view(self, live_api: LiveApi) -> None:
        response = requests.post(
            f"{live_api.url}/api/v1/users/",
            data=b"{" + b" " * 70_000 + b"}",
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert response.json()["details"]["max_bytes"] == 65536


# -- OAuth2 ---------------------------------------------------------------------------------
def token_request(live_api: LiveApi, data: dict[str, str], client_id: str, secret: str | None) -> requests.Response:
    auth = (client_id, secret) if secret else None
    if secret is None:
        data = {**data, "client_id": client_id}
    return requests.post(f"{live_api.url}/o/token/", data=data, auth=auth, timeout=10)


@pytest.fixture
def password_client(django_api: DjangoApi) -> Any:
    from letsema_api.accounts.services import create_oauth_client

    return create_oauth_client(name=unique("front-"), grant="password", owner=None, created_by="tests")


class TestPasswordGrant:
    def test_user_gets_a_token_with_the_scopes_of_their_role(
        self, live_api: LiveApi, make_user: Any, password_client: Any
    ) -> None:
        officer = make_user("loan_officer")
        response = token_request(
            live_api,
            {"grant_type": "password", "username": officer.username, "password": TEST_PASSWORD},
            password_client.client_id,
            password_client.client_secret,
        )
        assert response.status_code == 200, response.text
        token = response.json()
        assert set(token["scope"].split()) == {"read", "write", "repayments", "reports"}
        me = requests.get(
            f"{live_api.url}/api/v1/me/", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
        )
        assert me.json() == {
            "principal": officer.username,
            "role": "loan_officer",
            "scopes": ["read", "repayments", "reports", "write"],
        }

    def test_a_scope_beyond_the_role_is_refused(self, live_api: LiveApi, make_user: Any, password_client: Any) -> None:
        officer = make_user("loan_officer")
        response = token_request(
            live_api,
            {"grant_type": "password", "username": officer.username, "password": TEST_PASSWORD, "scope": "approve"},
            password_client.client_id,
            password_client.client_secret,
        )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_scope"

    def test_account_locks_after_five_failures_and_the_lock_is_audited(
        self, live_api: LiveApi, make_user: Any, password_client: Any
    ) -> None:
        from letsema_api.accounts.models import User
        from letsema_api.common.models import AuditEvent

        user = make_user("branch_manager")
        for _ in range(5):
            wrong = token_request(
                live_api,
                {"grant_type": "password", "username": user.username, "password": "wrong-password-1"},
                password_client.client_id,
                password_client.client_secret,
            )
            assert wrong.status_code == 400
            assert wrong.json()["error"] == "invalid_grant"
        right = token_request(
            live_api,
            {"grant_type": "password", "username": user.username, "password": TEST_PASSWORD},
            password_client.client_id,
            password_client.client_secret,
        )
        assert right.status_code == 400
        assert right.json()["error"] == "invalid_grant"
        user = User.objects.get(pk=user.pk)
        assert user.locked_until is not None
        event = AuditEvent.objects.get(action="account_locked", entity_id=str(user.pk))
        assert event.after["failed_attempts"] == 5

    def test_a_success_before_the_threshold_resets_the_count(
        self, live_api: LiveApi, make_user: Any, password_client: Any
    ) -> None:
        from letsema_api.accounts.models import User

        user = make_user("auditor")
        attempts = [("wrong-password-1", 400)] * 4 + [(TEST_PASSWORD, 200)] + [("wrong-password-1", 400)] * 4
        for password, status in [*attempts, (TEST_PASSWORD, 200)]:
            response = token_request(
                live_api,
                {"grant_type": "password", "username": user.username, "password": password},
                password_client.client_id,
                password_client.client_secret,
            )
            assert response.status_code == status, response.text
        assert User.objects.get(pk=user.pk).locked_until is None

    def test_bursts_of_login_attempts_are_throttled(self, live_api: LiveApi, password_client: Any) -> None:
        name = unique("nobody-")
        statuses = []
        for _ in range(11):
            response = token_request(
                live_api,
                {"grant_type": "password", "username": name, "password": "guess-guess-1"},
                password_client.client_id,
                password_client.client_secret,
            )
            statuses.append(response.status_code)
        assert statuses == [400] * 10 + [429]
        assert response.json()["code"] == "throttled"
        assert int(response.headers["Retry-After"]) > 0


class TestClientCredentialsGrant:
    def test_integration_client_may_only_post_repayments(self, live_api: LiveApi, make_user: Any) -> None:
        from letsema_api.accounts.services import create_oauth_client

        owner = make_user("integration")
        issued = create_oauth_client(name=unique("mpesa-"), grant="client-credentials", owner=owner, created_by="tests")
        response = token_request(live_api, {"grant_type": "client_credentials"}, issued.client_id, issued.client_secret)
        assert response.status_code == 200, response.text
        token = response.json()
        assert token["scope"] == "repayments"
        assert "refresh_token" not in token
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        me = requests.get(f"{live_api.url}/api/v1/me/", headers=headers, timeout=10).json()
        assert me == {"principal": f"client:{issued.client_id}", "role": "integration", "scopes": ["repayments"]}
        users = requests.get(f"{live_api.url}/api/v1/users/", headers=headers, timeout=10)
        assert users.status_code == 403
        assert users.json()["details"] == {"role": "integration", "action": "audit"}

    def test_wrong_client_secret_is_refused(self, live_api: LiveApi, make_user: Any) -> None:
        from letsema_api.accounts.services import create_oauth_client

        issued = create_oauth_client(
            name=unique("mpesa-"), grant="client-credentials", owner=make_user("integration"), created_by="tests"
        )
        response = token_request(live_api, {"grant_type": "client_credentials"}, issued.client_id, "not-the-secret")
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class TestAuthorizationCodeWithPkce:
    @pytest.fixture
    def spa(self, django_api: DjangoApi) -> Any:
        from letsema_api.accounts.services import create_oauth_client

        return create_oauth_client(
            name=unique("spa-"),
            grant="authorization-code",
            owner=None,
            redirect_uris=(REDIRECT,),
            public=True,
            skip_consent=True,
            created_by="tests",
        )

    def _authorize(self, client: Any, spa: Any, **extra: str) -> dict[str, list[str]]:
        params = {"response_type": "code", "client_id": spa.client_id, "redirect_uri": REDIRECT, "scope": "read"}
        response = client.get("/o/authorize/", {**params, **extra})
        assert response.status_code == 302, response.content
        location = urlparse(response["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        return parse_qs(location.query)

    def test_authorization_without_a_code_challenge_is_refused(self, client: Any, make_user: Any, spa: Any) -> None:
        client.force_login(make_user("loan_officer"))
        query = self._authorize(client, spa)
        assert query["error"] == ["invalid_request"]
        assert "code" not in query

    def test_code_is_exchanged_only_with_its_verifier(
        self, client: Any, live_api: LiveApi, make_user: Any, spa: Any
    ) -> None:
        officer = make_user("loan_officer")
        client.force_login(officer)
        verifier, challenge = pkce_pair()
        code = self._authorize(client, spa, code_challenge=challenge, code_challenge_method="S256")["code"][0]
        exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}

        wrong = token_request(live_api, {**exchange, "code_verifier": pkce_pair()[0]}, spa.client_id, None)
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"

        code = self._authorize(client, spa, code_challenge=challenge, code_challenge_method="S256")["code"][0]
        right = token_request(live_api, {**exchange, "code": code, "code_verifier": verifier}, spa.client_id, None)
        assert right.status_code == 200, right.text
        me = requests.get(
            f"{live_api.url}/api/v1/me/",
            headers={"Authorization": f"Bearer {right.json()['access_token']}"},
            timeout=10,
        ).json()
        assert (me["principal"], me["scopes"]) == (officer.username, ["read"])

    def test_the_sign_in_page_counts_failures_towards_lockout(self, client: Any, make_user: Any) -> None:
        from letsema_api.accounts.models import User

        user = make_user("auditor")
        assert client.get("/accounts/login/").status_code == 200
        client.post("/accounts/login/", {"username": user.username, "password": "wrong-password-1"})
        assert User.objects.get(pk=user.pk).failed_login_attempts == 1


class TestHealth:
    def test_healthz_answers_while_the_process_lives(self, client: Any) -> None:
        assert client.get("/healthz").json() == {"status": "ok"}

    def test_probes_by_pod_ip_are_answered_but_other_paths_still_check_the_host(self, client: Any) -> None:
        assert client.get("/healthz", HTTP_HOST="10.42.0.7:8000").status_code == 200
        assert client.get("/metrics", HTTP_HOST="10.42.0.7:8000").status_code == 200
        assert_error(client.get("/api/v1/me/", HTTP_HOST="10.42.0.7:8000"), 400, "bad_request")

    def test_readyz_reports_every_dependency(self, client: Any) -> None:
        response = client.get("/readyz")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "ready"
        assert body["checks"]["database"] == {"ok": True, "role": "alpha_owner"}
        assert body["checks"]["vault"] == {"ok": True}
        assert body["checks"]["registry"] == {"ok": True, "configured": True}
        assert body["replica"]["healthy"] is True

    def test_readyz_is_degraded_naming_vault_when_it_is_unreachable(
        self, client: Any, monkeypatch: pytest.MonkeyPatch, django_api: DjangoApi
    ) -> None:
        from letsema_api import vault
        from letsema_api.config import VaultAuth

        from letsema_dev.procs import free_port

        dead = vault.VaultSecrets(
            addr=f"http://127.0.0.1:{free_port()}",
            auth=VaultAuth(method="token", token="x"),
            db_role="alpha-app",
            transit_key="pii-alpha",
            hmac_key="nid-hmac",
            kv_mount="secret",
            kv_prefix="letsema/alpha",
            timeout_seconds=1,
        )
        monkeypatch.setattr(vault, "_vault", dead)
        response = client.get("/readyz")
        # Still ready to serve (the readiness probe must not take every pod out over Vault), but says so.
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["vault"]["ok"] is False
        assert "is unavailable" in body["checks"]["vault"]["error"]
        assert body["checks"]["database"]["ok"] is True  # still serving on the current credential

    def test_a_database_outage_during_a_request_is_a_503_to_retry(
        self, client: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.db.utils import OperationalError
        from rest_framework.views import APIView

        def lost(*args: Any, **kwargs: Any) -> None:
            raise OperationalError("terminating connection due to administrator command")

        monkeypatch.setattr(APIView, "initial", lost)
        response = client.get("/api/v1/me/")
        assert_error(response, 503, "database_unavailable")
        assert response["Retry-After"] == "5"

    def test_readyz_is_503_when_the_database_does_not_answer(
        self, client: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from letsema_api.health import views

        def down() -> dict[str, Any]:
            raise ConnectionError("connection refused\nsecond line")

        monkeypatch.setitem(views.CHECKS, "database", down)
        response = client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["database"] == {"ok": False, "error": "connection refused"}

    def test_readyz_is_degraded_naming_the_registry_when_it_is_down(
        self, client: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import pymongo
        from letsema_api.health import views

        from letsema_dev.procs import free_port

        dead: Any = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{free_port()}/", serverSelectionTimeoutMS=300, connect=False
        )
        monkeypatch.setattr(views, "_mongo", dead)
        response = client.get("/readyz")
        assert response.status_code == 200  # repayments keep working: the outbox holds the events
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"]["registry"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
        dead.close()

    def test_metrics_count_requests_by_view_and_status_and_show_the_lease_ttl(self, client: Any) -> None:
        client.get("/healthz")
        text = client.get("/metrics").content.decode()
        assert 'letsema_http_requests_total{method="GET",status="200",view="healthz"}' in text
        assert "letsema_http_request_duration_seconds_bucket" in text
        ttl = next(line for line in text.splitlines() if line.startswith("letsema_db_credential_lease_ttl_seconds "))
        assert 0 < float(ttl.split()[1]) <= 3600
        assert "letsema_replica_lag_seconds " in text


class TestOpenApi:
    def test_schema_is_valid_openapi_3_with_shared_error_responses(self, client: Any) -> None:
        from drf_spectacular.validation import validate_schema

        response = client.get("/api/schema/", {"format": "json"})
        assert response.status_code == 200
        schema = json.loads(response.content)
        validate_schema(schema)  # type: ignore[no-untyped-call]  # the official OpenAPI 3.0 JSON schema
        assert schema["info"]["title"] == "Letsema tenant API"
        assert {"Error", "UserListCreateInput", "UserOutput", "MeOutput"} <= set(schema["components"]["schemas"])
        flows = schema["components"]["securitySchemes"]["oauth2"]["flows"]
        assert set(flows) == {"authorizationCode", "password", "clientCredentials"}
        assert flows["password"]["tokenUrl"] == "/o/token/"
        assert schema["paths"]["/api/v1/users/"]["post"]["security"] == [{"oauth2": ["write"]}]
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                for status in ("400", "401", "403", "404"):
                    content = operation["responses"][status]["content"]["application/json"]
                    assert content["schema"] == {"$ref": "#/components/schemas/Error"}

    def test_schemathesis_loads_every_operation(self, client: Any) -> None:
        import schemathesis

        schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
        loaded = schemathesis.openapi.from_dict(schema)
        results: list[Any] = list(loaded.get_all_operations())
        operations = [result.ok() for result in results]
        assert {(op.method.upper(), op.path) for op in operations} >= {
            ("GET", "/api/v1/me/"),
            ("GET", "/api/v1/users/"),
            ("POST", "/api/v1/users/"),
        }

    def test_swagger_ui_is_served(self, client: Any) -> None:
        response = client.get("/api/docs/")
        assert response.status_code == 200
        assert b"swagger" in response.content.lower()
