"""The Vault client against a real OpenBao: repeated reconciles write nothing, teardown can be repeated."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hvac.exceptions
import pytest
from letsema_operator.builders.vault import build_vault_plan
from letsema_operator.clients.vault import VaultClient
from letsema_operator.spec import parse_tenant_spec

pytestmark = pytest.mark.operator


@pytest.fixture
def vault(openbao: Any) -> VaultClient:
    client = VaultClient(openbao.client())
    client.ensure_mounts()
    return client


@pytest.fixture
def plan(vault: VaultClient) -> Iterator[Any]:
    plan = build_vault_plan(spec=parse_tenant_spec({"tenantId": "vaulttest", "displayName": "V",
                                                    "api": {"image": "api:1"}}))
    # No database here: the connection is written unverified, as only the objects around it are tested.
    vault.hvac.secrets.database.configure(
        name=plan.connection_name, plugin_name="postgresql-database-plugin", verify_connection=False,
        allowed_roles=[plan.role_name], connection_url="postgresql://{{username}}:{{password}}@127.0.0.1:1/app",
        username="vault", password="unused")
    yield plan
    vault.remove_tenant(plan)


class TestVaultClient:
    def test_second_reconcile_writes_nothing(self, vault: VaultClient, plan: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
        vault.ensure_policies_and_roles(plan)
        vault.ensure_app_secrets(plan)
        first_secret = vault.read_kv(plan.kv_django_path), vault.read_kv(plan.kv_webhooks_path)
        writes: list[str] = []
        original = vault.hvac.adapter.request

        def spy(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method.lower() in ("post", "put", "delete"):
                writes.append(url)
            return original(method, url, *args, **kwargs)

        monkeypatch.setattr(vault.hvac.adapter, "request", spy)
        vault.ensure_policies_and_roles(plan)
        vault.ensure_app_secrets(plan)
        assert writes == []
        assert (vault.read_kv(plan.kv_django_path), vault.read_kv(plan.kv_webhooks_path)) == first_secret
        assert vault.tenant_objects_present(plan)

    def test_changed_ttl_rewrites_the_role(self, vault: VaultClient, plan: Any) -> None:
        vault.ensure_policies_and_roles(plan)
        longer = build_vault_plan(spec=parse_tenant_spec({
            "tenantId": "vaulttest", "displayName": "V", "api": {"image": "api:1"},
            "secrets": {"credentialTTL": "2h"}}))
        vault.ensure_policies_and_roles(longer)
        role = vault.hvac.secrets.database.read_role(name=plan.role_name)["data"]
        assert role["default_ttl"] == 7200

    def test_removal_can_be_repeated_and_leaves_nothing(self, vault: VaultClient, plan: Any) -> None:
        vault.ensure_policies_and_roles(plan)
        vault.ensure_app_secrets(plan)
        vault.remove_tenant(plan)
        vault.remove_tenant(plan)
        assert not vault.tenant_objects_present(plan)
        assert vault.read_kv(plan.kv_django_path) is None
        assert vault.read_kv(plan.kv_webhooks_path) is None
        with pytest.raises(hvac.exceptions.InvalidPath):
            vault.hvac.secrets.transit.read_key(name=plan.transit_key)

    def test_password_policy_generates_32_characters(self, vault: VaultClient, plan: Any) -> None:
        vault.ensure_policies_and_roles(plan)
        password = vault.generate_password(plan.password_policy_name)
        assert len(password) == 32
        assert any(c.isdigit() for c in password)
        assert any(c.isupper() for c in password)


class TestTheApiReadsWhatTheOperatorWrote:
    def test_api_vault_adapter_finds_the_secret_key_and_webhook_key(self, vault: VaultClient, plan: Any,
                                                                    openbao: Any) -> None:
        from letsema_api.config import load_config
        from letsema_api.vault import VaultSecrets
        from letsema_operator.builders.workloads import api_environment

        vault.ensure_policies_and_roles(plan)
        vault.ensure_app_secrets(plan)
        spec = parse_tenant_spec({"tenantId": "vaulttest", "displayName": "V", "api": {"image": "api:1"}})
        env = api_environment(spec=spec, vault_addr=openbao.url, vault_plan=plan, registry_database="r")
        # A token instead of the pod's Kubernetes login (no TokenReview here); every name else as deployed.
        del env["VAULT_K8S_ROLE"]
        api_vault = VaultSecrets.from_config(load_config({**env, "VAULT_TOKEN": vault.hvac.token}))
        assert len(api_vault.kv("django")["secret_key"]) >= 32
        assert api_vault.kv("webhooks")["mpesa_signing_key"]
        assert api_vault.encrypt_pii("LS:NID:000000000001").startswith("vault:v1:")
