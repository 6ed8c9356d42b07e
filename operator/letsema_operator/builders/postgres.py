"""The tenant's PostgreSQL: a CloudNativePG Cluster (replication and failover are CNPG's job)."""

from __future__ import annotations

from typing import Any

from letsema_operator.builders.common import metadata
from letsema_operator.names import APP_GROUP_ROLE, DATABASE_NAME, VAULT_DB_USER, TenantNames
from letsema_operator.spec import TenantSpec

CNPG_API_VERSION = "postgresql.cnpg.io/v1"
CNPG_IMAGE_REPOSITORY = "ghcr.io/cloudnative-pg/postgresql"


def build_cnpg_cluster(*, spec: TenantSpec, vault_password_secret: bool) -> dict[str, Any]:
    """The CNPG ``Cluster`` for a tenant.

    ``vault_password_secret`` is True until Vault has rotated its root credential: CNPG sets the
    ``vault`` role's password from the bootstrap Secret, and once Vault owns the password the
    reference is dropped so that CNPG stops resetting it (a role without ``passwordSecret`` keeps
    its password, per CNPG's managed roles documentation).
    """
    names = TenantNames(spec.tenant_id)
    pg = spec.postgres
    storage: dict[str, Any] = {"size": pg.storage_size}
    if pg.storage_class:
        storage["storageClass"] = pg.storage_class
    vault_role: dict[str, Any] = {
        "name": VAULT_DB_USER,
        "ensure": "present",
        "login": True,
        "createrole": True,
        "inherit": True,
        "inRoles": [APP_GROUP_ROLE],
        "comment": "Vault database secrets engine root credential; rotated by Vault",
    }
    if vault_password_secret:
        vault_role["passwordSecret"] = {"name": names.vault_db_secret}
    postgresql: dict[str, Any] = {
        "parameters": {
            "password_encryption": "scram-sha-256",
            "log_min_duration_statement": "1000",
            "timezone": "Africa/Maseru",
        },
    }
    if pg.synchronous_replicas > 0:
        postgresql["synchronous"] = {"method": "any", "number": pg.synchronous_replicas,
                                     "dataDurability": "required"}
    cluster_spec: dict[str, Any] = {
        "description": f"Letsema tenant {spec.display_name}",
        "instances": pg.instances,
        "imageName": pg.image_name or f"{CNPG_IMAGE_REPOSITORY}:{pg.version}",
        "primaryUpdateStrategy": "unsupervised",
        "enableSuperuserAccess": False,
        "storage": storage,
        "resources": pg.resources.as_dict(),
        "postgresql": postgresql,
        "bootstrap": {"initdb": {"database": DATABASE_NAME, "owner": APP_GROUP_ROLE}},
        "managed": {"roles": [
            {"name": APP_GROUP_ROLE, "ensure": "present", "login": False, "inherit": True,
             "comment": "owns the tenant's tables; dynamic users are members"},
            vault_role,
        ]},
        "inheritedMetadata": {"labels": names.labels},
    }
    if pg.backup_schedule and pg.backup_volume_snapshot_class:
        cluster_spec["backup"] = {"volumeSnapshot": {"className": pg.backup_volume_snapshot_class}}
    return {"apiVersion": CNPG_API_VERSION, "kind": "Cluster",
            "metadata": metadata(names.db_cluster, namespace=names.namespace, labels=names.labels),
            "spec": cluster_spec}


def build_scheduled_backup(*, spec: TenantSpec) -> dict[str, Any] | None:
    """A CNPG ``ScheduledBackup`` (volume snapshots) when the spec asks for backups, else None.

    The schedule is CNPG's six-field cron (seconds first).
    """
    pg = spec.postgres
    if not (pg.backup_schedule and pg.backup_volume_snapshot_class):
        return None
    names = TenantNames(spec.tenant_id)
    return {"apiVersion": CNPG_API_VERSION, "kind": "ScheduledBackup",
            "metadata": metadata(f"{names.db_cluster}-daily", namespace=names.namespace, labels=names.labels),
            "spec": {"schedule": pg.backup_schedule, "cluster": {"name": names.db_cluster},
                     "method": "volumeSnapshot", "backupOwnerReference": "self", "immediate": True}}


def build_vault_bootstrap_secret(*, spec: TenantSpec, password: str) -> dict[str, Any]:
    """The one-time Secret CNPG reads the ``vault`` role's first password from (deleted after rotation)."""
    names = TenantNames(spec.tenant_id)
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
            "metadata": metadata(names.vault_db_secret, namespace=names.namespace,
                                 labels={**names.labels, "cnpg.io/reload": "true"}),
            "stringData": {"username": VAULT_DB_USER, "password": password}}
