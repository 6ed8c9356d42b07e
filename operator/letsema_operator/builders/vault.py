"""The Vault/OpenBao state one tenant needs, as pure data (the client in clients/vault.py applies it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from letsema_operator.names import APP_GROUP_ROLE, DATABASE_NAME, VAULT_DB_USER, TenantNames, mongo_role_name
from letsema_operator.spec import TenantSpec

PLATFORM_HMAC_KEY = "letsema-borrower-key"  # one platform-wide key: every MFI computes the same borrower_key
MONGO_CREDENTIAL_POLICY = "letsema-mongodb"
MONGO_CREDENTIAL_POLICY_HCL = """length = 32
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}
rule "charset" {
  charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
  min-chars = 2
}
rule "charset" {
  charset = "0123456789"
  min-chars = 2
}
"""


@dataclass(frozen=True)
class VaultMounts:
    """Where the engines are mounted; the platform enables them once (see docs/operator.md)."""

    database: str = "database"
    transit: str = "transit"
    kv: str = "secret"
    kubernetes_auth: str = "kubernetes"


@dataclass(frozen=True)
class DatabaseEndpoint:
    """How Vault reaches the tenant's primary; defaults to the CNPG read-write Service."""

    host: str
    port: int = 5432
    sslmode: str = "require"


@dataclass(frozen=True)
class VaultTenantPlan:
    mounts: VaultMounts
    connection_name: str
    connection: dict[str, Any]
    role_name: str
    role: dict[str, Any]
    policy_name: str
    policy_hcl: str
    kubernetes_role_name: str
    kubernetes_role: dict[str, Any]
    transit_key: str
    kv_django_path: str
    kv_webhooks_path: str
    kv_mongodb_path: str
    kv_prefix: str
    password_policy_name: str
    password_policy_hcl: str
    registry_role_name: str
    registry_connection_name: str
    dynamic_registry_users: bool

    def status(self) -> dict[str, str]:
        """The names recorded in the tenant's ``status.vault``."""
        names = {"databaseConnection": self.connection_name, "databaseRole": self.role_name,
                 "policy": self.policy_name, "kubernetesRole": self.kubernetes_role_name,
                 "transitKey": self.transit_key, "kvPath": f"{self.mounts.kv}/{self.kv_prefix}"}
        if self.dynamic_registry_users:
            names["registryRole"] = self.registry_role_name
        return names


@dataclass(frozen=True)
class VaultRegistryPlan:
    """Dynamic registry users from HashiCorp Vault's MongoDB database plugin (``secrets.provider: vault``).

    A per-tenant connection logs in to mongos as the registry's user administrator; its role creates a
    user in the registry database holding the tenant's registry role, for ``credentialTTL`` (renewable up
    to ``maxCredentialTTL``), and drops it when the lease ends. The API finds the role's ``creds`` path in
    the KV ``mongodb`` record (``kv_record``)."""

    mounts: VaultMounts
    connection_name: str
    connection: dict[str, Any]
    role_name: str
    role: dict[str, Any]
    kv_mongodb_path: str
    kv_record: dict[str, str]

    @property
    def credentials_path(self) -> str:
        return f"{self.mounts.database}/creds/{self.role_name}"


def default_database_endpoint(*, spec: TenantSpec) -> DatabaseEndpoint:
    names = TenantNames(spec.tenant_id)
    return DatabaseEndpoint(host=f"{names.db_rw_service}.{names.namespace}.svc")


def _policy_hcl(names: TenantNames, mounts: VaultMounts, *, dynamic_registry_users: bool) -> str:
    kv_data = f"{mounts.kv}/data/{names.vault_kv_prefix}/*"
    kv_meta = f"{mounts.kv}/metadata/{names.vault_kv_prefix}/*"
    registry = ([f'path "{mounts.database}/creds/{names.vault_registry_role}" {{\n  capabilities = ["read"]\n}}']
                if dynamic_registry_users else [])
    return "\n".join([
        f'path "{mounts.database}/creds/{names.vault_db_role}" {{\n  capabilities = ["read"]\n}}',
        *registry,
        f'path "{mounts.transit}/encrypt/{names.vault_transit_key}" {{\n  capabilities = ["update"]\n}}',
        f'path "{mounts.transit}/decrypt/{names.vault_transit_key}" {{\n  capabilities = ["update"]\n}}',
        f'path "{mounts.transit}/rewrap/{names.vault_transit_key}" {{\n  capabilities = ["update"]\n}}',
        f'path "{mounts.transit}/hmac/{PLATFORM_HMAC_KEY}" {{\n  capabilities = ["update"]\n}}',
        f'path "{kv_data}" {{\n  capabilities = ["read"]\n}}',
        f'path "{kv_meta}" {{\n  capabilities = ["read", "list"]\n}}',
        # The API renews its database leases (the lease id travels in the body; Vault checks it is ours).
        'path "sys/leases/renew" {\n  capabilities = ["update"]\n}',
    ]) + "\n"


def build_vault_plan(*, spec: TenantSpec, endpoint: DatabaseEndpoint | None = None,
                     mounts: VaultMounts | None = None) -> VaultTenantPlan:
    """Everything the tenant needs in Vault/OpenBao: a database connection whose root user is the CNPG
    ``vault`` role (rotated once), a role issuing short-lived users in the group role, a policy, a
    Kubernetes auth role for the tenant's service account, a Transit key and KV paths."""
    names = TenantNames(spec.tenant_id)
    mounts = mounts or VaultMounts()
    endpoint = endpoint or default_database_endpoint(spec=spec)
    url = (f"postgresql://{{{{username}}}}:{{{{password}}}}@{endpoint.host}:{endpoint.port}/{DATABASE_NAME}"
           f"?sslmode={endpoint.sslmode}")
    return VaultTenantPlan(
        mounts=mounts,
        connection_name=names.vault_db_connection,
        connection={
            "plugin_name": "postgresql-database-plugin",
            "connection_url": url,
            "username": VAULT_DB_USER,
            "allowed_roles": [names.vault_db_role],
            "password_authentication": "scram-sha-256",
            "verify_connection": True,
        },
        role_name=names.vault_db_role,
        role={
            "db_name": names.vault_db_connection,
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' "
                f"IN ROLE \"{APP_GROUP_ROLE}\";",
            ],
            "revocation_statements": [
                "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \"{{name}}\";",
                "DROP ROLE IF EXISTS \"{{name}}\";",
            ],
            "default_ttl": spec.secrets.credential_ttl,
            "max_ttl": spec.secrets.max_credential_ttl,
        },
        policy_name=names.vault_policy,
        policy_hcl=_policy_hcl(names, mounts, dynamic_registry_users=spec.secrets.provider == "vault"),
        kubernetes_role_name=names.vault_kubernetes_role,
        kubernetes_role={
            "bound_service_account_names": [names.service_account],
            "bound_service_account_namespaces": [names.namespace],
            "policies": [names.vault_policy],
            "ttl": spec.secrets.credential_ttl,
        },
        transit_key=names.vault_transit_key,
        kv_django_path=names.vault_kv_django,
        kv_webhooks_path=names.vault_kv_webhooks,
        kv_mongodb_path=names.vault_kv_mongodb,
        kv_prefix=names.vault_kv_prefix,
        password_policy_name=MONGO_CREDENTIAL_POLICY,
        password_policy_hcl=MONGO_CREDENTIAL_POLICY_HCL,
        registry_role_name=names.vault_registry_role,
        registry_connection_name=names.vault_registry_connection,
        dynamic_registry_users=spec.secrets.provider == "vault",
    )


def build_registry_plan(*, spec: TenantSpec, host: str, database: str, admin_user: str,
                        mounts: VaultMounts | None = None) -> VaultRegistryPlan:
    """The Vault MongoDB-plugin objects for one tenant: ``host`` is the registry's mongos, ``admin_user`` the
    user administrator Vault logs in as (its password is sent when the connection is written, never kept
    here). Creation and revocation statements are the plugin's JSON documents: the user is created in the
    registry ``database`` with the tenant's registry role, writes wait for a majority."""
    names = TenantNames(spec.tenant_id)
    mounts = mounts or VaultMounts()
    role = mongo_role_name(spec.registry.access)
    return VaultRegistryPlan(
        mounts=mounts,
        connection_name=names.vault_registry_connection,
        connection={
            "plugin_name": "mongodb-database-plugin",
            "connection_url": f"mongodb://{{{{username}}}}:{{{{password}}}}@{host}/admin",
            "username": admin_user,
            "allowed_roles": [names.vault_registry_role],
            "write_concern": json.dumps({"wmode": "majority", "wtimeout": 5000}, sort_keys=True),
            "verify_connection": True,
        },
        role_name=names.vault_registry_role,
        role={
            "db_name": names.vault_registry_connection,
            "creation_statements": [json.dumps({"db": database, "roles": [{"role": role, "db": database}]},
                                               sort_keys=True)],
            "revocation_statements": [json.dumps({"db": database}, sort_keys=True)],
            "default_ttl": spec.secrets.credential_ttl,
            "max_ttl": spec.secrets.max_credential_ttl,
        },
        kv_mongodb_path=names.vault_kv_mongodb,
        kv_record={"mode": "dynamic", "credentialsPath": f"{mounts.database}/creds/{names.vault_registry_role}",
                   "host": host, "database": database, "authSource": database, "role": role,
                   "options": ""},
    )
