"""The tenant API's configuration from the environment (pure parsing; kept beside the API tests)."""

from __future__ import annotations

import pytest
from letsema_api.config import K8S_SERVICE_ACCOUNT_TOKEN, StartupError, load_config

pytestmark = pytest.mark.integration

BASE = {"LETSEMA_TENANT_ID": "khotso", "LETSEMA_DB_HOST": "pg.khotso", "VAULT_ADDR": "https://vault:8200/"}


class TestLoadConfig:
    def test_names_default_from_the_tenant_id(self) -> None:
        config = load_config({**BASE, "VAULT_TOKEN": "t"})
        assert (config.db_name, config.db_group_role, config.db_port) == ("letsema_khotso", "khotso_owner", 5432)
        assert (config.vault_db_role, config.vault_transit_key, config.vault_hmac_key) == (
            "khotso-app",
            "pii-khotso",
            "nid-hmac",
        )
        assert (config.vault_kv_mount, config.vault_kv_prefix) == ("secret", "letsema/khotso")
        assert config.vault_addr == "https://vault:8200"
        assert config.replica_host is None
        assert not config.has_replica
        assert not config.debug
        assert (config.lockout_threshold, config.lockout_window_seconds, config.lockout_seconds) == (5, 900, 900)
        assert config.secure_cookies
        assert not config.behind_tls_proxy

    def test_replica_port_defaults_to_the_primary_port(self) -> None:
        config = load_config(
            {**BASE, "VAULT_TOKEN": "t", "LETSEMA_DB_PORT": "6432", "LETSEMA_DB_REPLICA_HOST": "pg-ro.khotso"}
        )
        assert (config.replica_host, config.replica_port) == ("pg-ro.khotso", 6432)

    def test_kubernetes_login_wins_over_a_token(self) -> None:
        auth = load_config({**BASE, "VAULT_TOKEN": "t", "VAULT_K8S_ROLE": "letsema-khotso"}).vault_auth
        assert (auth.method, auth.kubernetes_role, auth.kubernetes_jwt_path) == (
            "kubernetes",
            "letsema-khotso",
            K8S_SERVICE_ACCOUNT_TOKEN,
        )

    def test_approle_needs_a_secret_id(self) -> None:
        with pytest.raises(StartupError, match="VAULT_APPROLE_SECRET_ID"):
            load_config({**BASE, "VAULT_APPROLE_ROLE_ID": "r"})

    def test_a_vault_login_is_required(self) -> None:
        with pytest.raises(StartupError, match="no Vault login configured"):
            load_config(BASE)

    def test_missing_variables_are_all_named(self) -> None:
        with pytest.raises(StartupError, match="LETSEMA_TENANT_ID, LETSEMA_DB_HOST, VAULT_ADDR"):
            load_config({})

    @pytest.mark.parametrize("tenant", ["Khotso", "1abc", "a b", "x;drop"])
    def test_tenant_id_must_be_a_safe_name(self, tenant: str) -> None:
        with pytest.raises(StartupError, match="LETSEMA_TENANT_ID"):
            load_config({**BASE, "LETSEMA_TENANT_ID": tenant, "VAULT_TOKEN": "t"})

    @pytest.mark.parametrize(
        ("name", "value"), [("DJANGO_DEBUG", "maybe"), ("LETSEMA_DB_PORT", "five"), ("LETSEMA_LOCKOUT_THRESHOLD", "")]
    )
    def test_malformed_values_name_their_variable(self, name: str, value: str) -> None:
        with pytest.raises(StartupError, match=name):
            load_config({**BASE, "VAULT_TOKEN": "t", name: value})
