"""Where a tenant process finds the shared registry: ``LETSEMA_MONGO_URL`` locally, or — on
Kubernetes, where the URL carries a rotated password — the Vault KV secret ``<prefix>/mongodb``
that the operator writes (field ``url``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def without_env_url(django_api: Any, vault_platform: Any) -> Iterator[Any]:
    from django.conf import settings
    from django.test import override_settings
    from letsema_api.credit import registry_client

    config = dataclasses.replace(settings.LETSEMA, mongo_url=None)
    registry_client._forget_registry()
    with override_settings(LETSEMA=config):
        yield config
    registry_client._forget_registry()
    vault_platform.client().secrets.kv.v2.delete_metadata_and_all_versions(
        path=f"{config.vault_kv_prefix}/mongodb", mount_point=config.vault_kv_mount
    )


class TestRegistryUrl:
    def test_without_the_variable_the_url_comes_from_vault_kv(
        self, without_env_url: Any, vault_platform: Any, mongo_url: str
    ) -> None:
        from letsema_api.credit.registry_client import get_registry

        config = without_env_url
        vault_platform.client().secrets.kv.v2.create_or_update_secret(
            path=f"{config.vault_kv_prefix}/mongodb", secret={"url": mongo_url}, mount_point=config.vault_kv_mount
        )
        registry = get_registry()
        assert registry.database.command("ping")["ok"] == 1
        assert registry.database.name == config.registry_db

    def test_without_the_variable_or_the_secret_the_registry_is_unavailable(self, without_env_url: Any) -> None:
        from letsema_api.credit.registry_client import RegistryUnavailable, get_registry

        with pytest.raises(RegistryUnavailable) as excinfo:
            get_registry()
        assert excinfo.value.http_status == 503
        assert excinfo.value.details["setting"] == "LETSEMA_MONGO_URL"

    def test_a_refused_login_makes_the_next_call_read_the_url_again(
        self, without_env_url: Any, vault_platform: Any, mongo_url: str
    ) -> None:
        from letsema_api.credit import registry_client
        from pymongo.errors import OperationFailure

        config = without_env_url
        vault_platform.client().secrets.kv.v2.create_or_update_secret(
            path=f"{config.vault_kv_prefix}/mongodb", secret={"url": mongo_url}, mount_point=config.vault_kv_mount
        )
        first = registry_client.get_registry()
        with pytest.raises(registry_client.RegistryUnavailable), registry_client.registry_calls():
            raise OperationFailure("Authentication failed.", code=18)
        assert registry_client.get_registry() is not first

    def test_readiness_pings_the_registry_at_the_url_from_vault(
        self, without_env_url: Any, vault_platform: Any, mongo_url: str
    ) -> None:
        from letsema_api.health.views import check_registry

        config = without_env_url
        assert check_registry() == {"ok": True, "configured": False}
        vault_platform.client().secrets.kv.v2.create_or_update_secret(
            path=f"{config.vault_kv_prefix}/mongodb", secret={"url": mongo_url}, mount_point=config.vault_kv_mount
        )
        assert check_registry() == {"ok": True, "configured": True, "source": "vault"}
