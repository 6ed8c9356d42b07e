"""Vault/OpenBao through hvac: apply a tenant's VaultTenantPlan, rotate its root once, tear it down."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import hvac
import hvac.exceptions

from letsema_operator.builders.vault import VaultMounts, VaultRegistryPlan, VaultTenantPlan

logger = logging.getLogger(__name__)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


def duration_seconds(text: str) -> int:
    """Seconds in a spec duration such as ``90s``, ``15m`` or ``1h`` (the CRD's pattern)."""
    return int(text[:-1]) * _UNIT_SECONDS[text[-1]]


class VaultClient:
    """One hvac client, authenticated (token, or Kubernetes auth in-cluster), shared by the handlers."""

    def __init__(self, client: hvac.Client, mounts: VaultMounts | None = None) -> None:
        self._client = client
        self.mounts = mounts or VaultMounts()

    @classmethod
    def connect(cls, *, url: str, token: str | None = None, kubernetes_role: str | None = None,
                jwt_path: str = "/var/run/secrets/kubernetes.io/serviceaccount/token",
                mounts: VaultMounts | None = None) -> VaultClient:
        client = hvac.Client(url=url, token=token, timeout=15)
        if token is None and kubernetes_role is not None:
            with open(jwt_path, encoding="utf-8") as handle:
                client.auth.kubernetes.login(role=kubernetes_role, jwt=handle.read())
        return cls(client, mounts)

    @property
    def hvac(self) -> hvac.Client:
        return self._client

    # -- platform mounts -------------------------------------------------------------------------------
    def ensure_mounts(self) -> None:
        """Enable the engines the plans use if they are missing (idempotent)."""
        engines = self._client.sys.list_mounted_secrets_engines()
        engines = engines.get("data", engines)
        wanted = {self.mounts.database: ("database", None), self.mounts.transit: ("transit", None),
                  self.mounts.kv: ("kv", {"version": "2"})}
        for path, (engine, options) in wanted.items():
            if f"{path}/" not in engines:
                self._client.sys.enable_secrets_engine(engine, path=path, options=options)
        auths = self._client.sys.list_auth_methods()
        auths = auths.get("data", auths)
        if f"{self.mounts.kubernetes_auth}/" not in auths:
            self._client.sys.enable_auth_method("kubernetes", path=self.mounts.kubernetes_auth)

    # -- database engine -------------------------------------------------------------------------------
    def ensure_database_connection(self, plan: VaultTenantPlan, *, bootstrap_password: str | None) -> None:
        """Write the connection; the password is sent only before the root rotation (Vault keeps the
        stored one when a later write omits it)."""
        if bootstrap_password is None and self._connection_matches(plan):
            return  # rewriting a connection restarts its plugin and interrupts credential issuance
        options = dict(plan.connection)
        plugin = options.pop("plugin_name")
        verify = options.pop("verify_connection")
        allowed = options.pop("allowed_roles")
        if bootstrap_password is not None:
            options["password"] = bootstrap_password
        self._client.secrets.database.configure(
            name=plan.connection_name, plugin_name=plugin, verify_connection=verify, allowed_roles=allowed,
            mount_point=self.mounts.database, **options)

    def _connection_matches(self, plan: VaultTenantPlan) -> bool:
        return self._config_matches(plan.connection_name, plan.connection)

    def _config_matches(self, name: str, connection: dict[str, Any]) -> bool:
        """The stored connection ``name`` has the plan's plugin, roles, URL and user (Vault never returns
        the password; a changed one is the caller's to detect)."""
        current = self._read_data(f"{self.mounts.database}/config/{name}")
        details = current.get("connection_details") or {}
        return bool(current.get("plugin_name") == connection["plugin_name"]
                    and sorted(current.get("allowed_roles") or []) == sorted(connection["allowed_roles"])
                    and details.get("connection_url") == connection["connection_url"]
                    and details.get("username") == connection["username"])

    def rotate_root(self, plan: VaultTenantPlan) -> None:
        self._client.secrets.database.rotate_root_credentials(name=plan.connection_name,
                                                              mount_point=self.mounts.database)

    def ensure_policies_and_roles(self, plan: VaultTenantPlan) -> None:
        """Write the role, policies and keys that differ from the plan; identical ones are left alone, so a
        repeated reconcile never rewrites what applications are using (OpenBao can fail a credential
        request with "transaction commit failed" while its role is being rewritten)."""
        self._ensure_role(plan.role_name, plan.role)
        if self._read_data(f"sys/policies/acl/{plan.policy_name}").get("policy") != plan.policy_hcl:
            self._client.sys.create_or_update_policy(name=plan.policy_name, policy=plan.policy_hcl)
        k8s = plan.kubernetes_role
        current = self._read_data(f"auth/{self.mounts.kubernetes_auth}/role/{plan.kubernetes_role_name}")
        if (current.get("bound_service_account_names") != k8s["bound_service_account_names"]
                or current.get("bound_service_account_namespaces") != k8s["bound_service_account_namespaces"]
                or current.get("token_policies") != k8s["policies"]
                or current.get("token_ttl") != duration_seconds(k8s["ttl"])):
            self._client.auth.kubernetes.create_role(
                name=plan.kubernetes_role_name, bound_service_account_names=k8s["bound_service_account_names"],
                bound_service_account_namespaces=k8s["bound_service_account_namespaces"],
                policies=k8s["policies"], ttl=k8s["ttl"], mount_point=self.mounts.kubernetes_auth)
        try:
            self._client.secrets.transit.read_key(name=plan.transit_key, mount_point=self.mounts.transit)
        except hvac.exceptions.InvalidPath:
            self._client.secrets.transit.create_key(name=plan.transit_key, key_type="aes256-gcm96",
                                                    mount_point=self.mounts.transit)
        password_policy_path = f"sys/policies/password/{plan.password_policy_name}"
        if self._read_data(password_policy_path).get("policy") != plan.password_policy_hcl:
            self._client.write_data(password_policy_path, data={"policy": plan.password_policy_hcl})

    def _read_data(self, path: str) -> dict[str, Any]:
        try:
            response = self._client.read(path)
        except hvac.exceptions.InvalidPath:
            return {}
        data: dict[str, Any] = (response or {}).get("data") or {}
        return data

    def _ensure_role(self, name: str, role: dict[str, Any]) -> None:
        if not self._role_matches(name, role):
            self._client.secrets.database.create_role(
                name=name, db_name=role["db_name"], creation_statements=role["creation_statements"],
                revocation_statements=role["revocation_statements"], default_ttl=role["default_ttl"],
                max_ttl=role["max_ttl"], mount_point=self.mounts.database)

    def _role_matches(self, name: str, role: dict[str, Any]) -> bool:
        current = self._read_data(f"{self.mounts.database}/roles/{name}")
        return bool(current
                    and current.get("db_name") == role["db_name"]
                    and current.get("creation_statements") == role["creation_statements"]
                    and current.get("revocation_statements") == role["revocation_statements"]
                    and current.get("default_ttl") == duration_seconds(role["default_ttl"])
                    and current.get("max_ttl") == duration_seconds(role["max_ttl"]))

    # -- dynamic registry users (HashiCorp Vault's MongoDB plugin) ------------------------------------
    def ensure_registry_users(self, plan: VaultRegistryPlan, *, admin_password: str, rewrite: bool) -> None:
        """Write the MongoDB connection when it differs from the plan or ``rewrite`` (the administrator's
        password changed), then the role when it differs. The connection's root is the registry's user
        administrator, which the Percona operator owns: Vault never rotates it."""
        if rewrite or not self._config_matches(plan.connection_name, plan.connection):
            options = dict(plan.connection)
            plugin = options.pop("plugin_name")
            verify = options.pop("verify_connection")
            allowed = options.pop("allowed_roles")
            self._client.secrets.database.configure(
                name=plan.connection_name, plugin_name=plugin, verify_connection=verify, allowed_roles=allowed,
                password=admin_password, mount_point=self.mounts.database, **options)
        self._ensure_role(plan.role_name, plan.role)

    def registry_users_configured(self, plan: VaultTenantPlan) -> bool:
        """The tenant's registry role exists (observation of ``secrets.provider: vault`` tenants)."""
        return bool(self._read_data(f"{self.mounts.database}/roles/{plan.registry_role_name}"))

    def remove_registry_users(self, plan: VaultTenantPlan) -> None:
        """Revoke every registry lease (Vault drops each MongoDB user), then the role and connection.
        Safe to repeat and harmless where they never existed."""
        self._client.sys.revoke_prefix(f"{self.mounts.database}/creds/{plan.registry_role_name}")
        self._client.secrets.database.delete_role(name=plan.registry_role_name, mount_point=self.mounts.database)
        self._client.secrets.database.delete_connection(name=plan.registry_connection_name,
                                                        mount_point=self.mounts.database)

    def ensure_app_secrets(self, plan: VaultTenantPlan) -> None:
        """Create the tenant's application secrets once, where and as the API reads them (``django`` →
        ``secret_key``, ``webhooks`` → ``mpesa_signing_key``); an existing secret is never overwritten."""
        if self.read_kv(plan.kv_django_path) is None:
            self.write_kv(plan.kv_django_path, {"secret_key": secrets.token_urlsafe(50)})
        if self.read_kv(plan.kv_webhooks_path) is None:
            self.write_kv(plan.kv_webhooks_path, {"mpesa_signing_key": secrets.token_urlsafe(32)})

    def generate_password(self, policy_name: str) -> str:
        response = self._client.read(f"sys/policies/password/{policy_name}/generate")
        if not response:
            raise RuntimeError(f"password policy {policy_name} did not generate a password")
        password: str = response["data"]["password"]
        return password

    # -- KV v2 -----------------------------------------------------------------------------------------
    def read_kv(self, path: str) -> dict[str, Any] | None:
        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.mounts.kv, raise_on_deleted_version=False)
        except hvac.exceptions.InvalidPath:
            return None
        data: dict[str, Any] | None = response["data"]["data"]
        return data

    def write_kv(self, path: str, data: dict[str, Any]) -> None:
        self._client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point=self.mounts.kv)

    # -- observation and teardown ----------------------------------------------------------------------
    def tenant_objects_present(self, plan: VaultTenantPlan) -> bool:
        try:
            self._client.secrets.database.read_role(name=plan.role_name, mount_point=self.mounts.database)
            self._client.secrets.transit.read_key(name=plan.transit_key, mount_point=self.mounts.transit)
            self._client.auth.kubernetes.read_role(name=plan.kubernetes_role_name,
                                                   mount_point=self.mounts.kubernetes_auth)
        except hvac.exceptions.InvalidPath:
            return False
        policy = self._client.sys.read_policy(name=plan.policy_name)
        return bool(policy)

    def remove_tenant(self, plan: VaultTenantPlan) -> None:
        """Revoke every lease of the tenant's roles, then delete its Vault objects. Safe to repeat."""
        self.remove_registry_users(plan)
        self._client.sys.revoke_prefix(f"{self.mounts.database}/creds/{plan.role_name}")
        self._client.secrets.database.delete_role(name=plan.role_name, mount_point=self.mounts.database)
        self._client.secrets.database.delete_connection(name=plan.connection_name, mount_point=self.mounts.database)
        self._client.sys.delete_policy(name=plan.policy_name)
        self._client.auth.kubernetes.delete_role(name=plan.kubernetes_role_name,
                                                 mount_point=self.mounts.kubernetes_auth)
        try:
            self._client.secrets.transit.update_key_configuration(
                name=plan.transit_key, deletion_allowed=True, mount_point=self.mounts.transit)
            self._client.secrets.transit.delete_key(name=plan.transit_key, mount_point=self.mounts.transit)
        except (hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest) as error:
            # Already gone (a repeated cleanup): Transit answers 400 "no existing key named ...".
            if "no existing key" not in str(error) and not isinstance(error, hvac.exceptions.InvalidPath):
                raise
        for path in (plan.kv_django_path, plan.kv_webhooks_path, plan.kv_mongodb_path):
            self._client.secrets.kv.v2.delete_metadata_and_all_versions(path=path, mount_point=self.mounts.kv)
