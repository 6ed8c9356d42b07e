"""The tenant API's Vault adapter and its dynamic-credential PostgreSQL backend, against real
OpenBao and PostgreSQL."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from letsema_dev.procs import LOOPBACK, free_port
from letsema_dev.services.openbao import OpenBaoServer
from tests.contracts.keyed_hasher import KeyedHasherContract
from tests.integration.conftest import API_DIR, DjangoApi, api_environment, unique

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tenant_vault(django_api: DjangoApi, **overrides: Any) -> Any:
    from letsema_api.config import VaultAuth
    from letsema_api.vault import VaultSecrets

    tenant = django_api.tenant
    options: dict[str, Any] = {
        "addr": django_api.platform.openbao.url,
        "auth": VaultAuth(method="token", token=django_api.tenant_token),
        "db_role": tenant.db_role,
        "transit_key": tenant.transit_key,
        "hmac_key": "nid-hmac",
        "kv_mount": "secret",
        "kv_prefix": f"letsema/{tenant.tenant_id}",
    }
    options.update(overrides)
    return VaultSecrets(**options)


def wrapper_for(django_api: DjangoApi, manager: Any, *, port: int | None = None, alias: str = "probe") -> Any:
    """A fresh DatabaseWrapper of the tenant's primary using ``manager`` for its logins."""
    from django.db import connections
    from letsema_api.db.base import DatabaseWrapper

    settings_dict = {**connections["default"].settings_dict, "CREDENTIALS": manager, "CONN_MAX_AGE": 0}
    settings_dict["OPTIONS"] = dict(settings_dict["OPTIONS"])
    if port is not None:
        settings_dict["PORT"] = port
    return DatabaseWrapper(settings_dict, alias)


def session_users(wrapper: Any) -> tuple[str, str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT session_user, current_user")
        row = cursor.fetchone()
    return str(row[0]), str(row[1])


class TestVaultSecrets:
    def test_issues_database_credentials_with_a_renewable_lease(self, django_api: DjangoApi) -> None:
        cred = tenant_vault(django_api).database_credentials()
        assert cred.username.startswith("v-")
        assert cred.lease_id.startswith(f"database/creds/{django_api.tenant.db_role}/")
        assert cred.lease_duration_seconds == 3600
        assert cred.renewable

    def test_renews_a_lease(self, django_api: DjangoApi) -> None:
        vault = tenant_vault(django_api)
        cred = vault.database_credentials()
        renewal = vault.renew_lease(cred.lease_id)
        assert renewal.lease_id == cred.lease_id
        assert 3500 <= renewal.lease_duration_seconds <= 3600

    def test_renewing_a_revoked_lease_is_refused(self, django_api: DjangoApi) -> None:
        from letsema_api.vault import VaultRefused

        vault = tenant_vault(django_api)
        cred = vault.database_credentials()
        django_api.platform.client().sys.revoke_lease(lease_id=cred.lease_id)
        with pytest.raises(VaultRefused):
            vault.renew_lease(cred.lease_id)

    def test_encrypts_pii_to_transit_ciphertext_and_back(self, django_api: DjangoApi) -> None:
        vault = tenant_vault(django_api)
        ciphertext = vault.encrypt_pii("012345678901")
        assert ciphertext.startswith("vault:v1:")
        assert "012345678901" not in ciphertext
        assert vault.decrypt_pii(ciphertext) == "012345678901"

    def test_decrypts_many_ciphertexts_in_order_with_one_transit_call_per_batch(self, django_api: DjangoApi) -> None:
        from unittest import mock

        import hvac.api.secrets_engines.transit as transit
        from letsema_api.vault import TRANSIT_BATCH_SIZE

        vault = tenant_vault(django_api)
        texts = [f"+2665{n:07d}" for n in range(TRANSIT_BATCH_SIZE + 3)]
        ciphertexts = [vault.encrypt_pii(text) for text in texts]
        with mock.patch.object(
            transit.Transit, "decrypt_data", autospec=True, side_effect=transit.Transit.decrypt_data
        ) as decrypt:
            assert vault.decrypt_pii_many(ciphertexts) == texts
        assert decrypt.call_count == 2  # two batches: TRANSIT_BATCH_SIZE, then 3
        assert vault.decrypt_pii_many([]) == []

    def test_a_ciphertext_transit_refuses_in_a_batch_is_refused(self, django_api: DjangoApi) -> None:
        from letsema_api.vault import VaultRefused

        vault = tenant_vault(django_api)
        with pytest.raises(VaultRefused):
            vault.decrypt_pii_many([vault.encrypt_pii("58123456"), "vault:v1:bm90LWEtY2lwaGVydGV4dA=="])

    def test_another_tenants_pii_key_is_refused(self, django_api: DjangoApi) -> None:
        from letsema_api.vault import VaultRefused

        vault = tenant_vault(django_api, transit_key="pii-beta")
        with pytest.raises(VaultRefused, match="refused to encrypt"):
            vault.encrypt_pii("012345678901")

    def test_reads_the_django_secret_key_from_kv(self, django_api: DjangoApi) -> None:
        secret = tenant_vault(django_api).kv("django")["secret_key"]
        assert len(secret) >= 32

    def test_borrower_key_is_the_same_for_every_tenant(self, django_api: DjangoApi) -> None:
        platform = django_api.platform
        beta_token = platform.client().auth.token.create(policies=["letsema-beta"], ttl="10m")["auth"]["client_token"]
        from letsema_api.config import VaultAuth

        beta = tenant_vault(django_api, auth=VaultAuth(method="token", token=beta_token), transit_key="pii-beta")
        alpha_key = tenant_vault(django_api).borrower_key("LS:NID:012345678901")
        assert alpha_key == beta.borrower_key("LS:NID:012345678901")
        assert alpha_key.startswith("vault:v1:")

    def test_unreachable_vault_is_reported_as_unavailable(self, django_api: DjangoApi) -> None:
        from letsema_api.vault import VaultUnavailable

        vault = tenant_vault(django_api, addr=f"http://{LOOPBACK}:{free_port()}", timeout_seconds=1)
        with pytest.raises(VaultUnavailable, match="is unavailable"):
            vault.database_credentials()


class TestMachineLogin:
    @pytest.fixture
    def approle(self, django_api: DjangoApi) -> tuple[str, str]:
        """An AppRole with the tenant's policy whose tokens live two seconds."""
        root = django_api.platform.client()
        if "approle/" not in root.sys.list_auth_methods()["data"]:
            root.sys.enable_auth_method("approle")
        name = unique("alpha-api-")
        root.auth.approle.create_or_update_approle(name, token_policies=[django_api.tenant.policy], token_ttl="2s")
        role_id = root.auth.approle.read_role_id(name)["data"]["role_id"]
        secret_id = root.auth.approle.generate_secret_id(name)["data"]["secret_id"]
        return role_id, secret_id

    def test_approle_login_reads_secrets_and_logs_in_again_when_its_token_expires(
        self, django_api: DjangoApi, approle: tuple[str, str]
    ) -> None:
        from letsema_api.config import VaultAuth

        role_id, secret_id = approle
        vault = tenant_vault(
            django_api, auth=VaultAuth(method="approle", approle_role_id=role_id, approle_secret_id=secret_id)
        )
        assert len(vault.kv("django")["secret_key"]) >= 32
        first_token = vault._get_client().token
        time.sleep(2.5)
        assert len(vault.kv("django")["secret_key"]) >= 32
        assert vault._get_client().token != first_token

    def test_an_expired_dev_token_is_refused_not_retried(self, django_api: DjangoApi) -> None:
        from letsema_api.config import VaultAuth
        from letsema_api.vault import VaultRefused

        vault = tenant_vault(django_api, auth=VaultAuth(method="token", token="not-a-token"))
        with pytest.raises(VaultRefused, match="permission denied"):
            vault.kv("django")


class TestTransitKeyedHasher(KeyedHasherContract):
    @pytest.fixture
    def hasher(self, django_api: DjangoApi) -> Any:
        return tenant_vault(django_api).keyed_hasher()

    @pytest.fixture
    def hasher_with_other_key(self, django_api: DjangoApi) -> Any:
        from letsema_api.config import VaultAuth

        root = django_api.platform.client()
        try:
            root.secrets.transit.read_key(name="nid-hmac-other")
        except Exception:
            root.secrets.transit.create_key(name="nid-hmac-other")
        vault = tenant_vault(django_api, auth=VaultAuth(method="token", token=django_api.platform.openbao.root_token))
        return vault.keyed_hasher("nid-hmac-other")


class TestDynamicCredentialBackend:
    def test_connections_log_in_as_a_vault_user_and_act_as_the_group_role(self, django_api: DjangoApi) -> None:
        from django.db import connection

        session_user, current_user = session_users(connection)
        assert session_user.startswith("v-token-")
        assert current_user == django_api.tenant.owner_role

    def test_migrated_tables_belong_to_the_group_role(self, django_api: DjangoApi) -> None:
        from django.db import connection

        tables = connection.introspection.django_table_names(only_existing=True)
        assert "accounts_user" in tables
        rows = django_api.platform.pg.primary.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE tablename = ANY(%s)",
            (tables,),
            dbname=django_api.tenant.database,
        )
        assert rows == [(django_api.tenant.owner_role,)]

    def test_django_pool_is_refused(self, django_api: DjangoApi) -> None:
        from django.core.exceptions import ImproperlyConfigured
        from django.db import connections
        from letsema_api.db.base import DatabaseWrapper

        settings_dict = {**connections["default"].settings_dict, "OPTIONS": {"pool": True}}
        with pytest.raises(ImproperlyConfigured, match="pool"):
            DatabaseWrapper(settings_dict, "pooled")

    def test_new_connections_reuse_the_credential_until_renewal_is_due(self, django_api: DjangoApi) -> None:
        from letsema_api.db.credentials import CredentialManager

        clock = FakeClock()
        manager = CredentialManager(source=tenant_vault(django_api, clock=clock), clock=clock)
        first = wrapper_for(django_api, manager)
        user, _ = session_users(first)
        first.close()
        clock.now += 60
        second = wrapper_for(django_api, manager)
        assert session_users(second)[0] == user
        second.close()
        assert (manager.issued_count, manager.renewed_count) == (1, 0)

    def test_lease_is_renewed_at_two_thirds_of_its_ttl(self, django_api: DjangoApi) -> None:
        from letsema_api.db.credentials import CredentialManager

        clock = FakeClock()
        manager = CredentialManager(source=tenant_vault(django_api, clock=clock), clock=clock)
        first = wrapper_for(django_api, manager)
        user, _ = session_users(first)
        first.close()
        clock.now += 2401  # past 2/3 of the one-hour lease
        second = wrapper_for(django_api, manager)
        assert session_users(second)[0] == user
        second.close()
        assert (manager.issued_count, manager.renewed_count) == (1, 1)
        remaining = manager.remaining_seconds()
        assert remaining is not None
        assert remaining > 3500
        assert manager.credential is not None
        lease = django_api.platform.client().sys.read_lease(lease_id=manager.credential.lease_id)
        assert lease["data"]["ttl"] > 3500
        # PostgreSQL's VALID UNTIL follows the renewal (the plugin's renew statement).
        rows = django_api.platform.pg.primary.execute(
            "SELECT rolvaliduntil > now() + interval '50 minutes' FROM pg_roles WHERE rolname = %s", (user,)
        )
        assert rows == [(True,)]

    def test_a_revoked_lease_gives_the_next_connection_a_fresh_credential(self, django_api: DjangoApi) -> None:
        from letsema_api.db.credentials import CredentialManager

        manager = CredentialManager(source=tenant_vault(django_api))
        first = wrapper_for(django_api, manager)
        old_user, _ = session_users(first)
        first.close()
        assert manager.credential is not None
        django_api.platform.client().sys.revoke_lease(lease_id=manager.credential.lease_id)

        second = wrapper_for(django_api, manager)
        new_user, current = session_users(second)
        second.close()
        assert new_user != old_user
        assert new_user.startswith("v-token-")
        assert current == django_api.tenant.owner_role
        assert manager.issued_count == 2

    def test_database_refusal_that_is_not_about_the_login_is_not_retried(self, django_api: DjangoApi) -> None:
        from letsema_api.db.credentials import CredentialManager

        manager = CredentialManager(source=tenant_vault(django_api))
        wrapper = wrapper_for(django_api, manager, port=free_port())
        with pytest.raises(Exception, match=r"connect|refused"):
            session_users(wrapper)
        assert manager.issued_count == 1


@pytest.fixture
def own_openbao(django_api: DjangoApi, tmp_path: Path) -> Iterator[tuple[OpenBaoServer, str]]:
    """A second, private OpenBao issuing ``alpha`` credentials, so a test may stop it.

    Its database engine logs in as its own admin role (the shared one's password is known only to
    the shared OpenBao). Yields the server and a token with the ``letsema-alpha``-like policy.
    """
    from letsema_dev.platform import policy_hcl

    tenant = django_api.tenant
    pg = django_api.platform.pg.primary
    admin, password = unique("vault_admin_"), unique("pw-")
    pg.execute(f"CREATE ROLE \"{admin}\" WITH LOGIN CREATEROLE PASSWORD '{password}'")
    pg.execute(f'GRANT "{tenant.owner_role}" TO "{admin}" WITH ADMIN OPTION')
    server = OpenBaoServer(base_dir=tmp_path / "bao", port=free_port(), dev=True)
    server.start()
    try:
        client = server.client()
        client.sys.enable_secrets_engine("database", path="database")
        client.secrets.database.configure(
            name="letsema-pg",
            plugin_name="postgresql-database-plugin",
            connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:{pg.port}/postgres?sslmode=disable",
            username=admin,
            password=password,
            allowed_roles=[tenant.db_role],
        )
        client.secrets.database.create_role(
            name=tenant.db_role,
            db_name="letsema-pg",
            creation_statements=[
                f"CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' "
                f"VALID UNTIL '{{{{expiration}}}}' IN ROLE \"{tenant.owner_role}\";"
            ],
            default_ttl="1h",
            max_ttl="24h",
        )
        client.sys.create_or_update_policy(name=tenant.policy, policy=policy_hcl(tenant))
        token = client.auth.token.create(policies=[tenant.policy], ttl="1h")["auth"]["client_token"]
        yield server, token
    finally:
        server.stop()


class TestVaultLostAfterStart:
    def test_tenant_keeps_serving_on_its_current_lease(
        self, django_api: DjangoApi, own_openbao: tuple[OpenBaoServer, str], caplog: pytest.LogCaptureFixture
    ) -> None:
        from letsema_api.config import VaultAuth
        from letsema_api.db.credentials import CredentialManager

        server, token = own_openbao
        clock = FakeClock()
        source = tenant_vault(
            django_api, addr=server.url, auth=VaultAuth(method="token", token=token), clock=clock, timeout_seconds=1
        )
        manager = CredentialManager(source=source, clock=clock)
        open_conn = wrapper_for(django_api, manager)
        user, _ = session_users(open_conn)

        server.stop()
        clock.now += 2500  # renewal is due, and Vault is gone
        assert session_users(open_conn)[0] == user  # the open connection still serves
        caplog.set_level(logging.WARNING, logger="letsema_api.db.credentials")
        new_conn = wrapper_for(django_api, manager)
        assert session_users(new_conn) == (user, django_api.tenant.owner_role)
        assert any("Vault unavailable" in r.getMessage() for r in caplog.records)
        open_conn.close()
        new_conn.close()

    def test_no_connection_once_the_lease_has_run_out_without_vault(
        self, django_api: DjangoApi, own_openbao: tuple[OpenBaoServer, str]
    ) -> None:
        from letsema_api.config import VaultAuth
        from letsema_api.db.credentials import CredentialManager
        from letsema_api.vault import VaultUnavailable

        server, token = own_openbao
        clock = FakeClock()
        source = tenant_vault(
            django_api, addr=server.url, auth=VaultAuth(method="token", token=token), clock=clock, timeout_seconds=1
        )
        manager = CredentialManager(source=source, clock=clock)
        manager.current()
        server.stop()
        clock.now += 3601
        with pytest.raises(VaultUnavailable):
            manager.current()


class TestStartup:
    def _manage(
        self, env: dict[str, str], *args: str, entry: tuple[str, ...] = (str(API_DIR / "manage.py"),)
    ) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("LETSEMA_", "VAULT_", "DJANGO_"))}
        return subprocess.run(
            [sys.executable, *entry, *args],
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    @pytest.mark.parametrize("entry", [(str(API_DIR / "manage.py"),), ("-m", "letsema_api")])
    def test_unreachable_vault_fails_fast_with_one_clear_line(
        self, django_api: DjangoApi, tmp_path: Path, entry: tuple[str, ...]
    ) -> None:
        token_file = tmp_path / "token"
        token_file.write_text("nothing")
        env = api_environment(django_api.platform, token_file=token_file, mongo_url=None)
        dead = f"http://{LOOPBACK}:{free_port()}"
        env["VAULT_ADDR"] = dead
        proc = self._manage(env, "check", entry=entry)
        assert proc.returncode == 2
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert lines[0].startswith("letsema: tenant alpha cannot start: Vault at VAULT_ADDR=" + dead)
        assert "Traceback" not in proc.stderr

    def test_missing_configuration_names_the_variable(self) -> None:
        proc = self._manage({"VAULT_ADDR": "http://127.0.0.1:1"}, "check")
        assert proc.returncode == 2
        assert proc.stderr.strip() == (
            "letsema: missing environment variable(s): LETSEMA_TENANT_ID, LETSEMA_DB_HOST (see docs/api.md)"
        )

    def test_a_reachable_vault_starts_the_tenant(self, django_api: DjangoApi, tmp_path: Path) -> None:
        token_file = tmp_path / "token"
        token_file.write_text(django_api.tenant_token)
        env = api_environment(django_api.platform, token_file=token_file, mongo_url=None)
        proc = self._manage(env, "check")
        assert proc.returncode == 0, proc.stderr
        assert "System check identified no issues" in proc.stdout


def test_psycopg_refuses_a_revoked_users_password(django_api: DjangoApi) -> None:
    """The fact the backend's retry relies on: a revoked user's login fails as an auth failure."""
    from letsema_api.db.base import is_auth_failure

    vault = tenant_vault(django_api)
    cred = vault.database_credentials()
    django_api.platform.client().sys.revoke_lease(lease_id=cred.lease_id)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(
            host=LOOPBACK,
            port=django_api.platform.pg.primary.port,
            dbname=django_api.tenant.database,
            user=cred.username,
            password=cred.password,
        )
    assert is_auth_failure(info.value)
