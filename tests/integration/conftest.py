"""Fixtures for the tenant API's integration tests: Django configured for test tenant ``alpha``.

``django_api`` configures Django ONCE per session from environment variables (exactly as a
deployment does), pointing at ``vault_platform`` (PostgreSQL primary + replica, OpenBao) with a
token limited to the ``letsema-alpha`` policy, runs the migrations on ``letsema_alpha`` and
restores the environment. Django cannot be configured twice in one process, so every API test
shares this configuration. ``live_api`` serves the WSGI application on a free loopback port.
"""

from __future__ import annotations

import decimal
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from letsema_dev.procs import LOOPBACK, free_port
from letsema_dev.testing import VaultPlatform

API_DIR = Path(__file__).resolve().parents[2] / "api"
TEST_PASSWORD = "Correct-Horse-Battery-9"


@dataclass
class DjangoApi:
    """What the API tests need to know about the configured tenant."""

    env: dict[str, str]
    platform: VaultPlatform
    tenant_token: str

    @property
    def tenant(self) -> Any:
        return self.platform.tenants[0]


def api_environment(platform: VaultPlatform, *, token_file: Path, mongo_url: str | None) -> dict[str, str]:
    tenant = platform.tenants[0]
    env = {
        "DJANGO_SETTINGS_MODULE": "letsema_api.settings",
        "LETSEMA_TENANT_ID": tenant.tenant_id,
        "LETSEMA_TENANT_NAME": tenant.display_name,
        "LETSEMA_DB_HOST": LOOPBACK,
        "LETSEMA_DB_PORT": str(platform.pg.primary.port),
        "LETSEMA_DB_NAME": tenant.database,
        "LETSEMA_DB_REPLICA_HOST": LOOPBACK,
        "LETSEMA_DB_REPLICA_PORT": str(platform.pg.replica.port),
        "VAULT_ADDR": platform.openbao.url,
        "VAULT_TOKEN_FILE": str(token_file),
        "LETSEMA_LOGIN_RATE": "10/min",
        "LETSEMA_MAX_BODY_BYTES": "65536",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    }
    if mongo_url:
        env["LETSEMA_MONGO_URL"] = mongo_url
    return env


@pytest.fixture(scope="session")
def django_api(vault_platform: VaultPlatform, mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> DjangoApi:
    import django
    from django.core.management import call_command

    tenant = vault_platform.tenants[0]
    token = vault_platform.client().auth.token.create(policies=[tenant.policy], ttl="4h")["auth"]["client_token"]
    token_file = tmp_path_factory.mktemp("vault-token") / "token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    env = api_environment(vault_platform, token_file=token_file, mongo_url=mongo_url)
    saved = {k: os.environ.get(k) for k in env}
    if str(API_DIR) not in sys.path:
        sys.path.insert(0, str(API_DIR))
    os.environ.update(env)
    try:
        django.setup()
        from django.test import override_settings

        # Deliberately slow production hashing would dominate the run (Django's testing advice).
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()
        call_command("migrate", verbosity=0, interactive=False)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return DjangoApi(env=env, platform=vault_platform, tenant_token=token)


@pytest.fixture
def trap_floats() -> Iterator[None]:
    """A stray float in money arithmetic fails loudly (``pytest.mark.usefixtures("trap_floats")``)."""
    ctx = decimal.getcontext()
    before = ctx.traps[decimal.FloatOperation]
    ctx.traps[decimal.FloatOperation] = True
    try:
        yield
    finally:
        ctx.traps[decimal.FloatOperation] = before


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class LiveApi:
    url: str


@pytest.fixture(scope="session")
def live_api(django_api: DjangoApi) -> Iterator[LiveApi]:
    """The tenant's WSGI application on a free port, one request at a time, in a daemon thread."""
    from django.core.wsgi import get_wsgi_application

    port = free_port()
    server: WSGIServer = make_server(LOOPBACK, port, get_wsgi_application(), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-api", daemon=True)
    thread.start()
    try:
        yield LiveApi(url=f"http://{LOOPBACK}:{port}")
    finally:
        server.shutdown()
        server.server_close()


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_user(django_api: DjangoApi) -> Any:
    """``make_user(role, approval_limit=None)`` → a fresh active user with ``TEST_PASSWORD``."""
    from letsema_api.accounts.services import create_user

    from letsema_core.loans.application import Role

    def make(role: str, *, approval_limit: decimal.Decimal | None = None) -> Any:
        return create_user(
            username=unique(f"{role}-"),
            password=TEST_PASSWORD,
            role=Role(role),
            approval_limit=approval_limit,
            created_by="tests",
        )

    return make


@pytest.fixture
def bearer(django_api: DjangoApi) -> Any:
    """``bearer(user, scopes)`` → an ``Authorization`` header value for a fresh access token."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from letsema_api.accounts.permissions import role_scopes
    from oauth2_provider.models import AccessToken

    def make(user: Any, scopes: str | None = None) -> str:
        token = AccessToken.objects.create(
            user=user,
            token=secrets.token_urlsafe(30),
            expires=timezone.now() + timedelta(hours=1),
            scope=scopes if scopes is not None else " ".join(sorted(role_scopes(user.role_enum))),
        )
        return f"Bearer {token.token}"

    return make
