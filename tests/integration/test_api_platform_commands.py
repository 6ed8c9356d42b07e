"""Management commands that create users with a role and OAuth2 clients."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from tests.integration.conftest import TEST_PASSWORD, DjangoApi, unique

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


def run(*args: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


class TestCreateTenantUser:
    def test_creates_a_user_with_role_and_approval_limit(
        self, django_api: DjangoApi, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from decimal import Decimal

        from letsema_api.accounts.models import User

        name = unique("manager-")
        monkeypatch.setenv("NEW_USER_PASSWORD", TEST_PASSWORD)
        out = run(
            "create_tenant_user",
            f"--username={name}",
            "--role=branch_manager",
            "--approval-limit=25000.00",
            "--password-env=NEW_USER_PASSWORD",
        )
        assert out.strip() == f"created user {name} (branch_manager)"
        user = User.objects.get(username=name)
        assert (user.role, user.approval_limit) == ("branch_manager", Decimal("25000.00"))
        assert user.check_password(TEST_PASSWORD)

    def test_refuses_a_taken_username(
        self, django_api: DjangoApi, make_user: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.core.management import CommandError

        existing = make_user("auditor")
        monkeypatch.setenv("NEW_USER_PASSWORD", TEST_PASSWORD)
        with pytest.raises(CommandError, match="already exists"):
            run(
                "create_tenant_user",
                f"--username={existing.username}",
                "--role=auditor",
                "--password-env=NEW_USER_PASSWORD",
            )


class TestCreateOauthClient:
    def test_prints_the_secret_once_and_stores_only_its_hash(self, django_api: DjangoApi, make_user: Any) -> None:
        from oauth2_provider.models import Application

        owner = make_user("integration")
        out = run(
            "create_oauth_client", "--name=M-Pesa", "--grant=client-credentials", f"--owner={owner.username}", "--json"
        )
        issued = json.loads(out)
        assert issued["grant"] == "client-credentials"
        app = Application.objects.get(client_id=issued["client_id"])
        assert app.user == owner
        assert issued["client_secret"]
        assert app.client_secret != issued["client_secret"]  # hashed at rest

    def test_client_credentials_need_an_owner(self, django_api: DjangoApi) -> None:
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="owner"):
            run("create_oauth_client", "--name=orphan", "--grant=client-credentials")

    def test_code_flow_clients_need_a_redirect_uri(self, django_api: DjangoApi) -> None:
        from django.core.management import CommandError

        with pytest.raises(CommandError, match="redirect"):
            run("create_oauth_client", "--name=spa", "--grant=authorization-code", "--public")
