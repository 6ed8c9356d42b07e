"""Helpers shared by the operator tests: repository paths, upstream CRD schemas, sample specs."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# In CI the repository is cloned with shared/ beside it, as on the development machines.
SHARED_CRDS = REPO_ROOT.parent / "shared" / "data" / "crds"


@functools.cache
def upstream_schema(filename: str, version: str = "v1") -> dict[str, Any]:
    """The openAPIV3Schema of an upstream CRD from ../shared/data/crds; fails loudly when missing."""
    path = SHARED_CRDS / filename
    if not path.is_file():
        pytest.fail(f"upstream CRD {path} is missing: clone the shared data beside the repository "
                    f"(expected at {SHARED_CRDS})")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads 1.4 MB in a second
    crd = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: dict[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    pytest.fail(f"{filename} has no version {version}")


def strict(schema: Any) -> Any:
    """A copy of a structural schema that rejects unknown fields, as the API server's strict field
    validation does: additionalProperties false wherever properties are listed and unknown fields are
    not preserved."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: strict(value) for key, value in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        result["additionalProperties"] = False
    return result


BASE_TENANT: dict[str, Any] = {
    "tenantId": "khotso",
    "displayName": "Khotso Microfinance",
    "country": "LS",
    "deletionPolicy": "Delete",
    "postgres": {"instances": 3, "synchronousReplicas": 1, "version": "16", "storage": {"size": "20Gi"}},
    "api": {"image": "ghcr.io/letsema/api:0.1.0", "replicas": 2, "maxReplicas": 6},
    "registryAccess": {"registry": "letsema", "access": "readWrite"},
    "secrets": {"provider": "openbao", "credentialTTL": "1h", "maxCredentialTTL": "24h"},
}

FULL_TENANT: dict[str, Any] = {
    **BASE_TENANT,
    "tenantId": "lesedi",
    "displayName": "Lesedi Credit",
    "deletionPolicy": "Retain",
    "postgres": {"instances": 5, "synchronousReplicas": 2, "version": "17",
                 "imageName": "ghcr.io/cloudnative-pg/postgresql:17.5",
                 "storage": {"size": "50Gi", "storageClass": "fast-ssd"},
                 "backup": {"schedule": "0 0 2 * * *", "volumeSnapshotClass": "csi-snapshots"},
                 "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}},
    "api": {"image": "ghcr.io/letsema/api:0.2.0", "replicas": 3, "maxReplicas": 10,
            "host": "lesedi.letsema.example", "ingressClassName": "nginx",
            "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
}

MINIMAL_TENANT: dict[str, Any] = {"tenantId": "a", "displayName": "A", "api": {"image": "api:1"},
                                  "postgres": {"instances": 1}}

REGISTRY: dict[str, Any] = {
    "mongodb": {"mode": "Managed", "shards": 3, "replicasPerShard": 3, "configServers": 3, "mongos": 2},
    "database": "letsema_registry",
    "collections": [
        {"name": "credit_accounts", "shardKey": [{"field": "country"}, {"field": "borrower_key"}]},
        {"name": "inquiries", "shardKey": [{"field": "borrower_key", "kind": "hashed"}]},
    ],
    "zones": [{"name": "lesotho", "country": "LS", "shards": ["rs0", "rs1"]},
              {"name": "eswatini", "country": "SZ", "shards": ["rs2"]}],
}




def deep(value: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(value)
