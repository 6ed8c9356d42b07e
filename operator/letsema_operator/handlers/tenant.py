"""MicrofinanceTenant: one idempotent ensure-sequence for create/resume/update, an observing timer,
a MongoDB password rotation timer, and deletion that never blocks forever."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

import kopf

from letsema_operator import builders
from letsema_operator.builders.registry import mongo_client_url, mongos_host
from letsema_operator.builders.vault import DatabaseEndpoint, VaultTenantPlan, build_registry_plan, build_vault_plan
from letsema_operator.clients.kube import KubeClient
from letsema_operator.clients.vault import VaultClient
from letsema_operator.conditions import condition_status, set_condition
from letsema_operator.config import OperatorConfig
from letsema_operator.handlers.common import (
    API_VERSION,
    Logger,
    cnpg_cluster_ready,
    is_ready,
    parse_duration,
    registry_admin,
    registry_credentials,
    secret_values,
    utc_now,
)
from letsema_operator.names import TenantNames, mongo_role_name
from letsema_operator.spec import (
    GROUP,
    TENANT_PLURAL,
    VERSION,
    SpecError,
    TenantSpec,
    parse_registry_spec,
    parse_tenant_spec,
)

ROOT_ROTATED_ANNOTATION = "letsema.io/db-root-rotated-at"
#: set once Vault has the bootstrap password and before the rotation; a restart that finds it (and no
#: ROOT_ROTATED_ANNOTATION) rotates again instead of writing the bootstrap password back
ROOT_ROTATION_STARTED_ANNOTATION = "letsema.io/db-root-rotation-started-at"
CNPG = "postgresql.cnpg.io/v1"
CONDITION_TYPES = ("NamespaceReady", "DatabaseReady", "SecretsReady", "RegistryAccessReady", "ApiAvailable")


def _parse(spec: Mapping[str, Any]) -> TenantSpec:
    try:
        return parse_tenant_spec(spec)
    except SpecError as error:
        raise kopf.PermanentError(str(error)) from error


def vault_plan(spec: TenantSpec, config: OperatorConfig, vault: VaultClient) -> VaultTenantPlan:
    endpoint = None
    if config.db_endpoint_override:
        host, port, sslmode = config.db_endpoint_override.split(":")
        endpoint = DatabaseEndpoint(host=host, port=int(port), sslmode=sslmode)
    return build_vault_plan(spec=spec, endpoint=endpoint, mounts=vault.mounts)


def _status_condition(patch: kopf.Patch, status: Mapping[str, Any], type_: str, ok: bool, reason: str,
                      message: str, generation: int | None) -> None:
    current = patch.status.get("conditions") or status.get("conditions") or []
    patch.status["conditions"] = set_condition(current, type_=type_, ok=ok, reason=reason, message=message,
                                               generation=generation, now=utc_now())


def ensure_namespace(kube: KubeClient, spec: TenantSpec, config: OperatorConfig) -> None:
    kube.ensure(builders.build_namespace(spec=spec))
    kube.ensure(builders.build_resource_quota(spec=spec))
    kube.ensure(builders.build_limit_range(spec=spec))
    kube.ensure(builders.build_service_account(spec=spec))
    for policy in builders.build_network_policies(spec=spec, ingress_namespace=config.ingress_namespace,
                                                  vault_namespace=config.vault_namespace,
                                                  cnpg_namespace=config.cnpg_namespace):
        kube.ensure(policy)


def ensure_database(kube: KubeClient, spec: TenantSpec, *, rotated: bool) -> str | None:
    """Ensure the CNPG Cluster (and, until the root rotation, its bootstrap Secret); return the bootstrap
    password. After rotation the roles list lacks ``passwordSecret``; a merge patch replaces lists whole,
    so the reference disappears from the Cluster."""
    password: str | None = None
    if not rotated:
        secret = kube.ensure(builders.build_vault_bootstrap_secret(spec=spec, password=secrets.token_urlsafe(32)))
        password = secret_values(secret.object).get("password")
    kube.ensure(builders.build_cnpg_cluster(spec=spec, vault_password_secret=not rotated))
    backup = builders.build_scheduled_backup(spec=spec)
    if backup is not None:
        kube.ensure(backup)
    return password


def ensure_vault(kube: KubeClient, vault: VaultClient, plan: VaultTenantPlan, spec: TenantSpec, *,
                 rotated_at: str | None, bootstrap_password: str | None, tenant_name: str,
                 patch: kopf.Patch, logger: Logger, rotation_started: bool = False) -> str:
    """Configure the database engine, rotate its root once, then policies, roles, keys, KV.

    Two annotations make the rotation safe across a crash at any point: ``rotation-started`` is written
    after Vault has the bootstrap password and before rotating; ``rotated-at`` the moment the rotation
    succeeds, before anything else can fail. A restart that finds ``rotated-at`` never rotates again;
    one that finds only ``rotation-started`` (the operator died around the rotation: Vault holds either
    the bootstrap password or the rotated one, and only Vault knows which) rotates again, which works in
    both cases, and never writes the bootstrap password back. Returns the rotation timestamp.
    """
    names = TenantNames(spec.tenant_id)
    vault.ensure_mounts()
    if rotated_at is None:
        if not rotation_started:
            if bootstrap_password is None:
                raise kopf.TemporaryError("the bootstrap Secret has no password yet", delay=5)
            vault.ensure_database_connection(plan, bootstrap_password=bootstrap_password)
            kube.patch(API_VERSION, "MicrofinanceTenant", tenant_name,
                       {"metadata": {"annotations": {ROOT_ROTATION_STARTED_ANNOTATION: utc_now()}}})
        vault.rotate_root(plan)
        rotated_at = utc_now()
        kube.patch(API_VERSION, "MicrofinanceTenant", tenant_name,
                   {"metadata": {"annotations": {ROOT_ROTATED_ANNOTATION: rotated_at}}})
        logger.info("rotated the database root credential of %s", plan.connection_name)
        # Vault alone knows the password now: stop CNPG from resetting it, and drop the bootstrap Secret.
        ensure_database(kube, spec, rotated=True)
        kube.delete("v1", "Secret", names.vault_db_secret, names.namespace)
    else:
        vault.ensure_database_connection(plan, bootstrap_password=None)
    vault.ensure_policies_and_roles(plan)
    vault.ensure_app_secrets(plan)
    patch.metadata.annotations[ROOT_ROTATED_ANNOTATION] = rotated_at
    return rotated_at


def _fingerprint(user: str, password: str) -> str:
    """A short digest that tells when the registry's administrator credential changed (never the password)."""
    return hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()[:16]


def ensure_registry_access(kube: KubeClient, vault: VaultClient, plan: VaultTenantPlan, spec: TenantSpec,
                           memo: Mapping[str, Any], *, rotate: bool = False) -> tuple[str, str]:
    """Give the tenant its way into the registry; returns (the registry's database name, a status message).

    ``secrets.provider: openbao``: one MongoDB user whose password comes from the Vault password policy
    and lives in KV with a ready-made client ``url`` (rotated by a timer). ``secrets.provider: vault``:
    HashiCorp Vault's MongoDB plugin issues a short-lived user per lease (``ensure_dynamic_registry_users``)."""
    registry = kube.get(API_VERSION, "CreditRegistry", spec.registry.registry_name)
    if not is_ready(registry):
        raise kopf.TemporaryError(f"CreditRegistry {spec.registry.registry_name} is not ready", delay=15)
    assert registry is not None
    if plan.dynamic_registry_users:
        return ensure_dynamic_registry_users(kube, vault, plan, spec, memo, registry)
    stored = vault.read_kv(plan.kv_mongodb_path)
    if stored is not None and stored.get("mode") == "dynamic":
        # The tenant moved from HashiCorp Vault to OpenBao: end the dynamic users, then make a static one.
        vault.remove_registry_users(plan)
        stored = None
    registry_spec, admin = registry_admin(memo, kube, registry)
    names = TenantNames(spec.tenant_id)
    try:
        role = mongo_role_name(spec.registry.access)
        host = mongos_host(spec=registry_spec)
        database = registry_spec.database

        def record(password: str, rotated_at: str) -> dict[str, Any]:
            return {"username": names.mongo_user, "password": password, "role": role, "database": database,
                    "host": host, "url": mongo_client_url(user=names.mongo_user, password=password, host=host,
                                                          database=database),
                    "rotatedAt": rotated_at}

        exists = admin.user_exists(database=database, user=names.mongo_user)
        if stored is None or rotate:
            password = vault.generate_password(plan.password_policy_name)
            admin.ensure_user(database=database, user=names.mongo_user, password=password, role=role)
            vault.write_kv(plan.kv_mongodb_path, record(password, utc_now()))
        else:
            wanted = record(str(stored["password"]), str(stored.get("rotatedAt") or utc_now()))
            if not exists or stored.get("role") != role:
                admin.ensure_user(database=database, user=names.mongo_user, password=str(stored["password"]),
                                  role=role)
            if stored != wanted:
                vault.write_kv(plan.kv_mongodb_path, wanted)
    finally:
        admin.close()
    return registry_spec.database, f"user {names.mongo_user}"


def ensure_dynamic_registry_users(kube: KubeClient, vault: VaultClient, plan: VaultTenantPlan, spec: TenantSpec,
                                  memo: Mapping[str, Any], registry: Mapping[str, Any]) -> tuple[str, str]:
    """Configure Vault's MongoDB plugin for the tenant (connection as the registry's user administrator,
    a role creating users with the tenant's registry role) and record the ``creds`` path in KV, where the
    API looks. The connection is rewritten when the administrator's password changes (a digest of it is
    kept in the record). A static user left from ``provider: openbao`` is dropped."""
    registry_spec = parse_registry_spec(registry.get("spec") or {})
    credentials = registry_credentials(kube, registry_spec)
    admin_user = credentials.get("MONGODB_USER_ADMIN_USER", "")
    admin_password = credentials.get("MONGODB_USER_ADMIN_PASSWORD", "")
    if not admin_user or not admin_password:
        raise kopf.TemporaryError(f"the users Secret of {registry_spec.mongodb.name} has no user administrator yet",
                                  delay=15)
    registry_plan = build_registry_plan(spec=spec, host=mongos_host(spec=registry_spec),
                                        database=registry_spec.database, admin_user=admin_user, mounts=vault.mounts)
    stored = vault.read_kv(plan.kv_mongodb_path) or {}
    fingerprint = _fingerprint(admin_user, admin_password)
    vault.ensure_registry_users(registry_plan, admin_password=admin_password,
                                rewrite=stored.get("adminFingerprint") != fingerprint)
    wanted = {**registry_plan.kv_record, "adminFingerprint": fingerprint}
    if stored != wanted:
        vault.write_kv(plan.kv_mongodb_path, wanted)
    if "url" in stored:  # the static user of an earlier provider: openbao
        names = TenantNames(spec.tenant_id)
        _, admin = registry_admin(memo, kube, registry)
        try:
            admin.drop_user(database=registry_spec.database, user=names.mongo_user)
        finally:
            admin.close()
    return registry_spec.database, f"dynamic users from {registry_plan.credentials_path}"


def ensure_workloads(kube: KubeClient, spec: TenantSpec, config: OperatorConfig, plan: VaultTenantPlan,
                     registry_database: str) -> None:
    common: dict[str, Any] = {"spec": spec, "vault_addr": config.pod_vault_addr, "vault_plan": plan,
                              "registry_database": registry_database}
    names = TenantNames(spec.tenant_id)
    kube.ensure(builders.build_migration_job(**common))
    kube.ensure(builders.build_api_deployment(**common))
    kube.ensure(builders.build_api_service(spec=spec))
    kube.ensure(builders.build_api_pdb(spec=spec))
    kube.ensure(builders.build_api_hpa(spec=spec))
    ingress = builders.build_api_ingress(spec=spec)
    if ingress is not None:
        kube.ensure(ingress)
    else:
        kube.delete("networking.k8s.io/v1", "Ingress", names.api, names.namespace)
    kube.ensure(builders.build_relay_deployment(**common))
    kube.ensure(builders.build_close_of_business_cronjob(**common))


@kopf.on.resume(GROUP, VERSION, TENANT_PLURAL, backoff=15)
@kopf.on.create(GROUP, VERSION, TENANT_PLURAL, backoff=15)
@kopf.on.update(GROUP, VERSION, TENANT_PLURAL, backoff=15)
def reconcile_tenant(spec: Mapping[str, Any], name: str, meta: Mapping[str, Any], status: Mapping[str, Any],
                     patch: kopf.Patch, memo: kopf.Memo, logger: Logger, body: kopf.Body,
                     **_: Any) -> None:
    """The one ensure-sequence: namespace, database, Vault, registry access, workloads. Every step is
    safe to repeat; TemporaryError while CNPG or the registry is not ready; PermanentError on a bad spec."""
    parsed = _parse(spec)
    kube: KubeClient = memo["kube"]
    vault: VaultClient = memo["vault"]
    config: OperatorConfig = memo["config"]
    generation = meta.get("generation")
    names = TenantNames(parsed.tenant_id)
    patch.status["phase"] = status.get("phase") or "Provisioning"

    ensure_namespace(kube, parsed, config)
    _status_condition(patch, status, "NamespaceReady", True, "Ensured", f"namespace {names.namespace}", generation)

    # Read the rotation marker from the server, not from this handler's body: the body can predate the
    # patch that recorded the rotation (a retry, a restart), and rotating twice would lose the password.
    fresh = kube.get(API_VERSION, "MicrofinanceTenant", name) or body
    annotations = fresh.get("metadata", {}).get("annotations") or {}
    rotated_at = annotations.get(ROOT_ROTATED_ANNOTATION)
    rotation_started = ROOT_ROTATION_STARTED_ANNOTATION in annotations
    bootstrap_password = ensure_database(kube, parsed, rotated=rotated_at is not None)
    cluster = kube.get(CNPG, "Cluster", names.db_cluster, names.namespace)
    if not cnpg_cluster_ready(cluster):
        _status_condition(patch, status, "DatabaseReady", False, "WaitingForCNPG",
                          f"CNPG Cluster {names.db_cluster} is not ready", generation)
        raise kopf.TemporaryError(f"waiting for CNPG Cluster {names.db_cluster}", delay=config.retry_delay_seconds)
    _status_condition(patch, status, "DatabaseReady", True, "ClusterReady", "CNPG reports Ready", generation)

    plan = vault_plan(parsed, config, vault)
    rotated_at = ensure_vault(kube, vault, plan, parsed, rotated_at=rotated_at, bootstrap_password=bootstrap_password,
                              tenant_name=name, patch=patch, logger=logger, rotation_started=rotation_started)
    patch.status["vault"] = {**plan.status(), "mongoUser": names.mongo_user, "rootRotatedAt": rotated_at}
    _status_condition(patch, status, "SecretsReady", True, "Configured", "Vault objects configured", generation)

    try:
        registry_database, access_message = ensure_registry_access(kube, vault, plan, parsed, memo)
    except kopf.TemporaryError as error:
        kopf.warn(body, reason="RegistryNotReady", message=str(error))
        _status_condition(patch, status, "RegistryAccessReady", False, "RegistryNotReady", str(error), generation)
        raise
    _status_condition(patch, status, "RegistryAccessReady", True, "UserReady", access_message, generation)

    ensure_workloads(kube, parsed, config, plan, registry_database)
    endpoints = {"api": f"http://{names.api}.{names.namespace}.svc",
                 "database": f"{names.db_rw_service}.{names.namespace}.svc",
                 "databaseReadOnly": f"{names.db_ro_service}.{names.namespace}.svc"}
    if parsed.api.host:
        endpoints["publicApi"] = f"https://{parsed.api.host}"
    patch.status["endpoints"] = endpoints
    patch.status["observedGeneration"] = generation


def observe(kube: KubeClient, vault: VaultClient, config: OperatorConfig, memo: Mapping[str, Any],
            spec: TenantSpec, meta: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Look at the actual state and return (phase, conditions)."""
    names = TenantNames(spec.tenant_id)
    generation = meta.get("generation")
    now = utc_now()
    conditions: list[dict[str, Any]] = list(status.get("conditions") or [])

    def put(type_: str, ok: bool, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = set_condition(conditions, type_=type_, ok=ok, reason=reason, message=message,
                                   generation=generation, now=now)

    namespace = kube.get("v1", "Namespace", names.namespace)
    put("NamespaceReady", namespace is not None, "Exists" if namespace else "Missing", names.namespace)
    cluster = kube.get(CNPG, "Cluster", names.db_cluster, names.namespace)
    db_ok = cnpg_cluster_ready(cluster)
    ready_instances = ((cluster or {}).get("status") or {}).get("readyInstances", 0)
    put("DatabaseReady", db_ok, "ClusterReady" if db_ok else "ClusterNotReady",
        f"{ready_instances}/{spec.postgres.instances} instances ready")
    rotated = ROOT_ROTATED_ANNOTATION in (meta.get("annotations") or {})
    plan = vault_plan(spec, config, vault)
    try:
        vault_ok = rotated and vault.tenant_objects_present(plan)
        vault_message = "role, policy, Kubernetes role and Transit key present" if vault_ok else "not configured"
    except Exception as error:  # Vault unreachable is an observation, not a crash
        vault_ok, vault_message = False, f"Vault unreachable: {error}"
    put("SecretsReady", vault_ok, "Configured" if vault_ok else "NotConfigured", vault_message)
    registry_ok, registry_message = False, "no MongoDB user yet"
    try:
        stored = vault.read_kv(plan.kv_mongodb_path) if vault_ok else None
        if stored is not None and plan.dynamic_registry_users:
            registry_ok = stored.get("mode") == "dynamic" and vault.registry_users_configured(plan)
            registry_message = (f"dynamic users from {stored.get('credentialsPath')}" if registry_ok
                                else f"Vault role {plan.registry_role_name} missing")
        elif stored is not None:
            registry = kube.get(API_VERSION, "CreditRegistry", spec.registry.registry_name)
            if registry is not None:
                registry_spec, admin = registry_admin(memo, kube, registry)
                try:
                    registry_ok = admin.user_exists(database=registry_spec.database, user=names.mongo_user)
                finally:
                    admin.close()
                registry_message = f"user {names.mongo_user}" if registry_ok else "MongoDB user missing"
            else:
                registry_message = f"CreditRegistry {spec.registry.registry_name} not found"
    except Exception as error:
        registry_message = f"registry unreachable: {error}"
    put("RegistryAccessReady", registry_ok, "UserReady" if registry_ok else "UserNotReady", registry_message)
    deployment = kube.get("apps/v1", "Deployment", names.api, names.namespace)
    available = condition_status(((deployment or {}).get("status") or {}).get("conditions"), "Available") == "True"
    if spec.suspend and deployment is not None:
        put("ApiAvailable", True, "Suspended", "the tenant is suspended")
    else:
        put("ApiAvailable", available, "Available" if available else "Unavailable", f"Deployment {names.api}")
    all_ok = all(condition_status(conditions, t) == "True" for t in CONDITION_TYPES)
    put("Ready", all_ok, "AllReady" if all_ok else "NotReady",
        "all conditions are True" if all_ok else "waiting for: " + ", ".join(
            t for t in CONDITION_TYPES if condition_status(conditions, t) != "True"))
    if spec.suspend:
        phase = "Suspended"
    elif all_ok:
        phase = "Ready"
    elif status.get("phase") in ("Ready", "Degraded"):
        phase = "Degraded"
    else:
        phase = "Provisioning"
    return phase, conditions


def observe_tenant(spec: Mapping[str, Any], meta: Mapping[str, Any], status: Mapping[str, Any], patch: kopf.Patch,
                   memo: kopf.Memo, body: kopf.Body, logger: Logger, **_: Any) -> None:
    """Set conditions and phase from what actually exists; warn (as an event) when a Ready tenant degrades.

    A timer registered at operator startup (``handlers.timers``), every ``observe_interval_seconds``."""
    try:
        parsed = parse_tenant_spec(spec)
    except SpecError as error:
        patch.status["phase"] = "Invalid"
        logger.warning("invalid spec: %s", error)
        return
    phase, conditions = observe(memo["kube"], memo["vault"], memo["config"], memo, parsed, meta, status)
    if phase == "Degraded" and status.get("phase") != "Degraded":
        kopf.warn(body, reason="Degraded", message="a condition of a Ready tenant turned False")
    if conditions != list(status.get("conditions") or []) or phase != status.get("phase"):
        patch.status["conditions"] = conditions
        patch.status["phase"] = phase
    if phase == "Ready" and status.get("observedGeneration") != meta.get("generation"):
        patch.status["observedGeneration"] = meta.get("generation")


@kopf.timer(GROUP, VERSION, TENANT_PLURAL, interval=3600, initial_delay=60)
def rotate_mongo_password(spec: Mapping[str, Any], meta: Mapping[str, Any], memo: kopf.Memo,
                          logger: Logger, **_: Any) -> None:
    """Rotate the tenant's MongoDB password when the stored one is older than secrets.mongoPasswordRotation."""
    try:
        parsed = parse_tenant_spec(spec)
    except SpecError:
        return
    if ROOT_ROTATED_ANNOTATION not in (meta.get("annotations") or {}):
        return
    vault: VaultClient = memo["vault"]
    plan = vault_plan(parsed, memo["config"], vault)
    if plan.dynamic_registry_users:
        return  # Vault's MongoDB plugin issues short-lived users; there is no password to rotate
    stored = vault.read_kv(plan.kv_mongodb_path)
    if stored is None or "rotatedAt" not in stored:
        return
    rotated_at = datetime.datetime.fromisoformat(str(stored["rotatedAt"]).replace("Z", "+00:00"))
    if datetime.datetime.now(tz=datetime.UTC) - rotated_at >= parse_duration(parsed.secrets.mongo_password_rotation):
        ensure_registry_access(memo["kube"], vault, plan, parsed, memo, rotate=True)
        logger.info("rotated the MongoDB password of %s", TenantNames(parsed.tenant_id).mongo_user)


@kopf.on.delete(GROUP, VERSION, TENANT_PLURAL, retries=5, backoff=10, timeout=600)
def delete_tenant(spec: Mapping[str, Any], name: str, memo: kopf.Memo, logger: Logger, retry: int,
                  **_: Any) -> None:
    """Revoke the tenant's leases and remove its Vault objects and MongoDB user, then delete or retain
    the namespace per deletionPolicy. After ``retries`` failed attempts kopf gives up and releases the
    finalizer, so a broken Vault never blocks deletion forever (a warning event says what was left)."""
    try:
        parsed = parse_tenant_spec(spec)
    except SpecError as error:
        logger.warning("deleting a tenant with an invalid spec; nothing to clean up: %s", error)
        return
    kube: KubeClient = memo["kube"]
    vault: VaultClient = memo["vault"]
    names = TenantNames(parsed.tenant_id)
    plan = vault_plan(parsed, memo["config"], vault)
    try:
        vault.remove_tenant(plan)
    except Exception as error:
        logger.warning("could not remove Vault objects of %s (attempt %d): %s", name, retry + 1, error)
        raise kopf.TemporaryError(f"Vault cleanup failed: {error}", delay=10) from error
    registry = kube.get(API_VERSION, "CreditRegistry", parsed.registry.registry_name)
    if registry is not None:
        try:
            registry_spec, admin = registry_admin(memo, kube, registry)
            try:
                admin.drop_user(database=registry_spec.database, user=names.mongo_user)
            finally:
                admin.close()
        except Exception as error:
            logger.warning("could not drop MongoDB user %s: %s", names.mongo_user, error)
            raise kopf.TemporaryError(f"MongoDB cleanup failed: {error}", delay=10) from error
    if parsed.deletion_policy == "Delete":
        kube.delete("v1", "Namespace", names.namespace)
        logger.info("deleted namespace %s", names.namespace)
    else:
        kube.patch("v1", "Namespace", names.namespace, {"metadata": {
            "labels": {"letsema.io/retained": "true"},
            "annotations": {"letsema.io/retained-from": name}}})
        logger.info("retained namespace %s and its database", names.namespace)
