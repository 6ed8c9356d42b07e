"""The shared credit registry: a Percona ``PerconaServerMongoDB`` sharded cluster."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from letsema_operator.builders.common import metadata
from letsema_operator.names import MANAGED_BY, mongo_role_name
from letsema_operator.spec import REGISTRY_INQUIRIES, RegistrySpec

PSMDB_API_VERSION = "psmdb.percona.com/v1"
PSMDB_CR_VERSION = "1.22.0"
REGISTRY_RO_ROLE = mongo_role_name("read")
REGISTRY_RW_ROLE = mongo_role_name("readWrite")
READ_ACTIONS = ["find"]
WRITE_ACTIONS = ["find", "insert", "update", "remove"]


def registry_labels(registry_name: str) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/part-of": "letsema", "letsema.io/registry": registry_name}


def build_registry_namespace(*, registry_name: str, spec: RegistrySpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": metadata(spec.mongodb.namespace, labels=registry_labels(registry_name))}


def _volume(size: str) -> dict[str, Any]:
    return {"persistentVolumeClaim": {"resources": {"requests": {"storage": size}}}}


def _affinity() -> dict[str, Any]:
    return {"antiAffinityTopologyKey": "kubernetes.io/hostname"}


def build_psmdb(*, registry_name: str, spec: RegistrySpec) -> dict[str, Any]:
    """The ``PerconaServerMongoDB`` for a Managed registry: ``shards`` replica sets named rs0..rsN-1,
    config servers and mongos routers; sharding itself (collections, zones) is set through mongos."""
    mongo = spec.mongodb
    replsets = [
        {"name": f"rs{i}", "size": mongo.replicas_per_shard, "affinity": _affinity(),
         "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
         "volumeSpec": _volume(mongo.storage_size)}
        for i in range(mongo.shards)
    ]
    return {
        "apiVersion": PSMDB_API_VERSION, "kind": "PerconaServerMongoDB",
        "metadata": metadata(mongo.name, namespace=mongo.namespace, labels=registry_labels(registry_name)),
        "spec": {
            "crVersion": PSMDB_CR_VERSION,
            "image": mongo.image,
            "updateStrategy": "SmartUpdate",
            "secrets": {"users": f"{mongo.name}-secrets"},
            "replsets": replsets,
            "sharding": {
                "enabled": True,
                "configsvrReplSet": {"size": mongo.config_servers, "affinity": _affinity(),
                                     "volumeSpec": _volume("5Gi")},
                "mongos": {"size": mongo.mongos, "affinity": _affinity(),
                           "expose": {"type": "ClusterIP"}},
            },
        },
    }


def mongos_host(*, spec: RegistrySpec) -> str:
    """Where clients reach the registry: the external host, or the Percona mongos Service."""
    if spec.mongodb.external_host:
        return spec.mongodb.external_host
    return f"{spec.mongodb.name}-mongos.{spec.mongodb.namespace}.svc.cluster.local:27017"


def mongo_client_url(*, user: str, password: str, host: str, database: str) -> str:
    """The connection URL a tenant's MongoDB user logs in with (kept in Vault KV, never in a manifest)."""
    return (f"mongodb://{quote(user, safe='')}:{quote(password, safe='')}@{host}/{database}"
            f"?authSource={database}")


def build_registry_roles(*, spec: RegistrySpec) -> dict[str, list[dict[str, Any]]]:
    """The privileges of the two registry roles, collection by collection (never the whole database: no
    tenant may drop or create collections or indexes).

    ``letsema_registry_rw`` (MFIs that report loans) finds, inserts, updates and removes in every registry
    collection (the adapter inserts account revisions, deletes superseded ones, updates disputes).
    ``letsema_registry_ro`` finds, and may insert into ``inquiries``: pulling a borrower's report records
    the inquiry in the borrower's file."""
    def privileges(actions_of: dict[str, list[str]]) -> list[dict[str, Any]]:
        return [{"resource": {"db": spec.database, "collection": c.name},
                 "actions": actions_of.get(c.name, READ_ACTIONS)} for c in spec.collections]

    return {
        REGISTRY_RO_ROLE: privileges({REGISTRY_INQUIRIES: ["find", "insert"]}),
        REGISTRY_RW_ROLE: privileges({c.name: WRITE_ACTIONS for c in spec.collections}),
    }
