"""Operator configuration from the environment (read at startup, by the startup handler)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorConfig:
    vault_addr: str
    vault_token: str | None
    vault_kubernetes_role: str | None
    pod_vault_addr: str  # what the tenant's pods use to reach Vault
    db_endpoint_override: str | None  # "host:port:sslmode" when Vault cannot use the in-cluster Service
    retry_delay_seconds: float
    ingress_namespace: str
    vault_namespace: str
    cnpg_namespace: str
    observe_interval_seconds: float = 30.0  # the observation timers (registered at startup with it)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if environ is None else environ
        vault_addr = env.get("LETSEMA_VAULT_ADDR", "http://openbao.openbao.svc:8200")
        return cls(
            vault_addr=vault_addr,
            vault_token=env.get("LETSEMA_VAULT_TOKEN") or None,
            vault_kubernetes_role=env.get("LETSEMA_VAULT_KUBERNETES_ROLE", "letsema-operator"),
            pod_vault_addr=env.get("LETSEMA_POD_VAULT_ADDR", vault_addr),
            db_endpoint_override=env.get("LETSEMA_DB_ENDPOINT_OVERRIDE") or None,
            retry_delay_seconds=float(env.get("LETSEMA_RETRY_DELAY_SECONDS", "15")),
            ingress_namespace=env.get("LETSEMA_INGRESS_NAMESPACE", "ingress-nginx"),
            vault_namespace=env.get("LETSEMA_VAULT_NAMESPACE", "openbao"),
            cnpg_namespace=env.get("LETSEMA_CNPG_NAMESPACE", "cnpg-system"),
            observe_interval_seconds=float(env.get("LETSEMA_OBSERVE_INTERVAL_SECONDS", "30")),
        )

