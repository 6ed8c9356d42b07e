"""The tenant API's configuration, read from the environment and nowhere else.

No secret is ever read from here except a Vault token for local development
(``VAULT_TOKEN`` / ``VAULT_TOKEN_FILE``); everything secret comes from Vault at
start (Django ``SECRET_KEY``) or per connection (PostgreSQL credentials).
See ``docs/api.md`` for the full list of variables.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from django.core.exceptions import ImproperlyConfigured

K8S_SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path

_TENANT_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class StartupError(ImproperlyConfigured):  # type: ignore[misc]
    """The tenant cannot start: a setting is missing or a dependency (Vault) refused or is unreachable.

    ``str()`` is one line meant for an operator; the entry points print it without a traceback.
    """


VaultAuthMethod = Literal["token", "kubernetes", "approle"]


@dataclass(frozen=True)
class VaultAuth:
    """How this process logs in to Vault: a token (local/dev), Kubernetes auth (pods) or AppRole."""

    method: VaultAuthMethod
    token: str | None = field(default=None, repr=False)
    token_file: str | None = None
    kubernetes_role: str | None = None
    kubernetes_jwt_path: str = K8S_SERVICE_ACCOUNT_TOKEN
    kubernetes_mount: str = "kubernetes"
    approle_role_id: str | None = None
    approle_secret_id: str | None = field(default=None, repr=False)
    approle_secret_id_file: str | None = None
    approle_mount: str = "approle"


@dataclass(frozen=True)
class TenantConfig:
    """Everything a tenant process needs to know before it talks to anything."""

    tenant_id: str
    tenant_name: str
    db_host: str
    db_port: int
    db_name: str
    db_group_role: str
    replica_host: str | None
    replica_port: int | None
    vault_addr: str
    vault_auth: VaultAuth
    vault_db_role: str
    vault_transit_key: str
    vault_hmac_key: str
    vault_kv_mount: str
    vault_kv_prefix: str
    vault_timeout_seconds: float
    mongo_url: str | None
    registry_db: str
    debug: bool
    allowed_hosts: tuple[str, ...]
    conn_max_age_seconds: int
    replica_max_lag_seconds: float
    login_rate: str
    lockout_threshold: int
    lockout_window_seconds: int
    lockout_seconds: int
    max_body_bytes: int
    secure_cookies: bool
    behind_tls_proxy: bool

    @property
    def has_replica(self) -> bool:
        return self.replica_host is not None


def _bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise StartupError(f"{name} must be true or false, not {raw!r}")


def _int(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise StartupError(f"{name} must be a whole number, not {raw!r}") from None


def _float(raw: str, name: str) -> float:
    # Durations in seconds, never money: a float is right here.
    try:
        return float(raw)
    except ValueError:
        raise StartupError(f"{name} must be a number of seconds, not {raw!r}") from None


def _vault_auth(env: Mapping[str, str]) -> VaultAuth:
    k8s_role = env.get("VAULT_K8S_ROLE")
    if k8s_role:
        return VaultAuth(
            method="kubernetes",
            kubernetes_role=k8s_role,
            kubernetes_jwt_path=env.get("VAULT_K8S_TOKEN_PATH", K8S_SERVICE_ACCOUNT_TOKEN),
            kubernetes_mount=env.get("VAULT_K8S_MOUNT", "kubernetes"),
        )
    role_id = env.get("VAULT_APPROLE_ROLE_ID")
    if role_id:
        secret_id = env.get("VAULT_APPROLE_SECRET_ID")
        secret_file = env.get("VAULT_APPROLE_SECRET_ID_FILE")
        if not secret_id and not secret_file:
            raise StartupError("VAULT_APPROLE_ROLE_ID needs VAULT_APPROLE_SECRET_ID or VAULT_APPROLE_SECRET_ID_FILE")
        return VaultAuth(
            method="approle",
            approle_role_id=role_id,
            approle_secret_id=secret_id,
            approle_secret_id_file=secret_file,
            approle_mount=env.get("VAULT_APPROLE_MOUNT", "approle"),
        )
    token_file = env.get("VAULT_TOKEN_FILE")
    token = env.get("VAULT_TOKEN")
    if token_file or token:
        return VaultAuth(method="token", token=token, token_file=token_file)
    raise StartupError(
        "no Vault login configured: set VAULT_K8S_ROLE (in a cluster), VAULT_APPROLE_ROLE_ID, "
        "or VAULT_TOKEN_FILE / VAULT_TOKEN (local development)"
    )


def load_config(env: Mapping[str, str] | None = None) -> TenantConfig:
    """Read and check the tenant's configuration. Raises ``StartupError`` naming the variable at fault."""
    env = os.environ if env is None else env
    missing = [name for name in ("LETSEMA_TENANT_ID", "LETSEMA_DB_HOST", "VAULT_ADDR") if not env.get(name)]
    if missing:
        raise StartupError(f"missing environment variable(s): {', '.join(missing)} (see docs/api.md)")
    tenant = env["LETSEMA_TENANT_ID"]
    if not _TENANT_ID.match(tenant):
        raise StartupError(f"LETSEMA_TENANT_ID must be lower-case letters, digits, '_' or '-', not {tenant!r}")
    replica_host = env.get("LETSEMA_DB_REPLICA_HOST") or None
    replica_port = env.get("LETSEMA_DB_REPLICA_PORT")
    db_port = _int(env.get("LETSEMA_DB_PORT", "5432"), "LETSEMA_DB_PORT")
    hosts = tuple(h.strip() for h in env.get("ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip())
    return TenantConfig(
        tenant_id=tenant,
        tenant_name=env.get("LETSEMA_TENANT_NAME", tenant),
        db_host=env["LETSEMA_DB_HOST"],
        db_port=db_port,
        db_name=env.get("LETSEMA_DB_NAME", f"letsema_{tenant}"),
        db_group_role=env.get("LETSEMA_DB_ROLE", f"{tenant}_owner"),
        replica_host=replica_host,
        replica_port=(_int(replica_port, "LETSEMA_DB_REPLICA_PORT") if replica_port else db_port)
        if replica_host
        else None,
        vault_addr=env["VAULT_ADDR"].rstrip("/"),
        vault_auth=_vault_auth(env),
        vault_db_role=env.get("VAULT_DB_ROLE", f"{tenant}-app"),
        vault_transit_key=env.get("VAULT_TRANSIT_KEY", f"pii-{tenant}"),
        vault_hmac_key=env.get("VAULT_HMAC_KEY", "nid-hmac"),
        vault_kv_mount=env.get("VAULT_KV_MOUNT", "secret"),
        vault_kv_prefix=env.get("VAULT_KV_PREFIX", f"letsema/{tenant}").strip("/"),
        vault_timeout_seconds=_float(env.get("VAULT_TIMEOUT_SECONDS", "5"), "VAULT_TIMEOUT_SECONDS"),
        mongo_url=env.get("LETSEMA_MONGO_URL") or None,
        registry_db=env.get("LETSEMA_REGISTRY_DB", "letsema_registry"),
        debug=_bool(env.get("DJANGO_DEBUG", "false"), "DJANGO_DEBUG"),
        allowed_hosts=hosts,
        conn_max_age_seconds=_int(env.get("LETSEMA_CONN_MAX_AGE", "60"), "LETSEMA_CONN_MAX_AGE"),
        replica_max_lag_seconds=_float(
            env.get("LETSEMA_REPLICA_MAX_LAG_SECONDS", "30"), "LETSEMA_REPLICA_MAX_LAG_SECONDS"
        ),
        login_rate=env.get("LETSEMA_LOGIN_RATE", "30/min"),
        lockout_threshold=_int(env.get("LETSEMA_LOCKOUT_THRESHOLD", "5"), "LETSEMA_LOCKOUT_THRESHOLD"),
        lockout_window_seconds=_int(env.get("LETSEMA_LOCKOUT_WINDOW_SECONDS", "900"), "LETSEMA_LOCKOUT_WINDOW_SECONDS"),
        lockout_seconds=_int(env.get("LETSEMA_LOCKOUT_SECONDS", "900"), "LETSEMA_LOCKOUT_SECONDS"),
        max_body_bytes=_int(env.get("LETSEMA_MAX_BODY_BYTES", str(1024 * 1024)), "LETSEMA_MAX_BODY_BYTES"),
        secure_cookies=_bool(env.get("LETSEMA_SECURE_COOKIES", "true"), "LETSEMA_SECURE_COOKIES"),
        behind_tls_proxy=_bool(env.get("LETSEMA_BEHIND_TLS_PROXY", "false"), "LETSEMA_BEHIND_TLS_PROXY"),
    )
