"""Operator settings and the clients the handlers share (kept in kopf's ``memo``, never built at import)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from letsema_operator.clients.kube import KubeClient
from letsema_operator.clients.mongo import PymongoRegistryAdmin, RegistryAdmin
from letsema_operator.clients.vault import VaultClient
from letsema_operator.config import OperatorConfig
from letsema_operator.handlers.common import Logger
from letsema_operator.handlers.timers import register_observation_timers
from letsema_operator.spec import RegistrySpec

PREFIX = "letsema.io"


def default_registry_admin_factory(spec: RegistrySpec, credentials: Mapping[str, str]) -> RegistryAdmin:
    """Connect to mongos with the Percona system users from the registry's users Secret."""
    from letsema_operator.builders.registry import mongos_host

    host = mongos_host(spec=spec)

    def uri(prefix: str) -> str:
        from urllib.parse import quote_plus

        user = quote_plus(credentials.get(f"MONGODB_{prefix}_USER", ""))
        password = quote_plus(credentials.get(f"MONGODB_{prefix}_PASSWORD", ""))
        return f"mongodb://{user}:{password}@{host}/admin"

    return PymongoRegistryAdmin(cluster_admin_uri=uri("CLUSTER_ADMIN"), user_admin_uri=uri("USER_ADMIN"))


def configure_settings(settings: kopf.OperatorSettings) -> None:
    """Annotation-based progress and diff-base storage under letsema.io, explicit watch timeouts,
    our own finalizer name, and Kubernetes events for warnings and errors only."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration")
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    # Servers drop long watches at random; ask for 5 minutes and give the client a little longer.
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.watching.connect_timeout = 30
    settings.posting.loggers = True  # kopf >= 1.45 posts log records as events only when asked
    settings.posting.level = logging.WARNING
    settings.networking.request_timeout = 60


@kopf.on.startup()
def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, logger: Logger, **_: Any) -> None:
    configure_settings(settings)
    if "config" not in memo:
        memo["config"] = OperatorConfig.from_environ()
    config: OperatorConfig = memo["config"]
    if "kube" not in memo:
        memo["kube"] = KubeClient.from_environment()
    if "vault" not in memo:
        memo["vault"] = VaultClient.connect(url=config.vault_addr, token=config.vault_token,
                                            kubernetes_role=config.vault_kubernetes_role)
    if "registry_admin_factory" not in memo:
        memo["registry_admin_factory"] = default_registry_admin_factory
    # kopf's watchers start only after the startup handlers: the timers exist before the first object.
    register_observation_timers(kopf.get_default_registry(), interval=config.observe_interval_seconds)
    logger.info("letsema operator started; Vault at %s; observing every %ss", config.vault_addr,
                config.observe_interval_seconds)
