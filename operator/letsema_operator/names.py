"""Every name the operator gives to what it creates, derived from the tenant id in one place."""

from __future__ import annotations

from dataclasses import dataclass

LABEL_PREFIX = "letsema.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "letsema-operator"}
VAULT_DB_USER = "vault"  # the CNPG managed role Vault uses as its root credential
APP_GROUP_ROLE = "letsema_app"  # owns the tables; dynamic users are members of it (Django assume_role)
DATABASE_NAME = "app"
API_PORT = 8000
# KV v2 secrets under the tenant's prefix, named as the tenant API reads them (docs/api.md).
KV_DJANGO = "django"
KV_WEBHOOKS = "webhooks"
KV_MONGODB = "mongodb"


@dataclass(frozen=True)
class TenantNames:
    """Names of the Kubernetes and Vault objects that belong to one tenant."""

    tenant_id: str

    @property
    def namespace(self) -> str:
        return f"letsema-{self.tenant_id}"

    @property
    def labels(self) -> dict[str, str]:
        return {**MANAGED_BY, "app.kubernetes.io/part-of": "letsema", f"{LABEL_PREFIX}/tenant": self.tenant_id}

    @property
    def service_account(self) -> str:
        return "letsema-api"

    @property
    def db_cluster(self) -> str:
        return f"{self.tenant_id}-db"

    @property
    def db_rw_service(self) -> str:
        return f"{self.db_cluster}-rw"

    @property
    def db_ro_service(self) -> str:
        return f"{self.db_cluster}-ro"

    @property
    def vault_db_secret(self) -> str:
        return f"{self.db_cluster}-vault-bootstrap"

    @property
    def api(self) -> str:
        return "letsema-api"

    @property
    def relay(self) -> str:
        return "letsema-relay"

    @property
    def close_of_business(self) -> str:
        return "letsema-close-of-business"

    # Vault / OpenBao
    @property
    def vault_db_connection(self) -> str:
        return f"letsema-{self.tenant_id}"

    @property
    def vault_db_role(self) -> str:
        return f"letsema-{self.tenant_id}-app"

    @property
    def vault_policy(self) -> str:
        return f"letsema-{self.tenant_id}"

    @property
    def vault_kubernetes_role(self) -> str:
        return f"letsema-{self.tenant_id}"

    @property
    def vault_transit_key(self) -> str:
        return f"letsema-{self.tenant_id}-pii"

    @property
    def vault_kv_prefix(self) -> str:
        return f"letsema/tenants/{self.tenant_id}"

    @property
    def vault_kv_django(self) -> str:
        """Django's ``secret_key``; the API reads ``<VAULT_KV_PREFIX>/django``."""
        return f"{self.vault_kv_prefix}/{KV_DJANGO}"

    @property
    def vault_kv_webhooks(self) -> str:
        """The M-Pesa callback ``mpesa_signing_key``; the API reads ``<VAULT_KV_PREFIX>/webhooks``."""
        return f"{self.vault_kv_prefix}/{KV_WEBHOOKS}"

    @property
    def vault_kv_mongodb(self) -> str:
        return f"{self.vault_kv_prefix}/{KV_MONGODB}"

    @property
    def mongo_user(self) -> str:
        return f"letsema-{self.tenant_id}"

    @property
    def vault_registry_connection(self) -> str:
        """The database-engine connection HashiCorp Vault's MongoDB plugin issues registry users through."""
        return f"letsema-{self.tenant_id}-registry"

    @property
    def vault_registry_role(self) -> str:
        """The database-engine role whose ``creds`` are the tenant's short-lived registry users."""
        return f"letsema-{self.tenant_id}-registry"


def mongo_role_name(access: str) -> str:
    """The registry role a tenant's MongoDB user is granted for ``read`` or ``readWrite`` access."""
    return "letsema_registry_rw" if access == "readWrite" else "letsema_registry_ro"
