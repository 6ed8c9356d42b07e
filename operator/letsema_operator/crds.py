"""The CustomResourceDefinitions, generated from Python so schema, defaults and the operator agree.

``python -m letsema_operator.crds charts/letsema-crds/templates`` rewrites the chart's CRD files;
a test fails if the committed files differ from what this module produces.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from letsema_operator.spec import (
    COUNTRY_PATTERN,
    DEFAULT_COLLECTIONS,
    DEFAULT_POSTGRES_VERSION,
    DURATION_PATTERN,
    GROUP,
    HOST_PATTERN,
    MAX_POSTGRES_INSTANCES,
    POSTGRES_MAJOR_VERSIONS,
    QUANTITY_PATTERN,
    REGISTRY_PLURAL,
    TENANT_ID_PATTERN,
    TENANT_PLURAL,
    VERSION,
)

TENANT_CONDITIONS = ("NamespaceReady", "DatabaseReady", "SecretsReady", "RegistryAccessReady", "ApiAvailable",
                     "Ready")
REGISTRY_CONDITIONS = ("Reachable", "Sharded", "RolesReady", "Ready")


def _s(description: str, **rest: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **rest}


def _i(description: str, **rest: Any) -> dict[str, Any]:
    return {"type": "integer", "description": description, **rest}


def _o(description: str, properties: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"type": "object", "description": description, "properties": properties, **rest}


def _quantity_map(description: str) -> dict[str, Any]:
    return _o(description, {
        "cpu": _s("CPU quantity, e.g. 250m.", pattern=QUANTITY_PATTERN),
        "memory": _s("Memory quantity, e.g. 512Mi.", pattern=QUANTITY_PATTERN),
    })


def _resources(description: str) -> dict[str, Any]:
    return _o(description, {"requests": _quantity_map("Requested resources."),
                            "limits": _quantity_map("Resource limits.")})


def _conditions(types: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "array",
        "description": f"Kubernetes-style conditions: {', '.join(types)}.",
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
        "items": _o("One observed condition.", {
            "type": _s("Condition type.", enum=list(types)),
            "status": _s("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "reason": _s("CamelCase reason for the last transition.", maxLength=1024),
            "message": _s("Human-readable detail.", maxLength=32768),
            "lastTransitionTime": _s("When the status last changed.", format="date-time"),
            "observedGeneration": _i("The generation the condition was computed for.", minimum=0),
        }, required=["type", "status"]),
    }


def _tenant_schema() -> dict[str, Any]:
    spec = _o("The desired tenant.", {
        "tenantId": _s("Short DNS-safe id of the MFI; names its namespace and Vault objects. Immutable.",
                       pattern=TENANT_ID_PATTERN, maxLength=32,
                       **{"x-kubernetes-validations": [{"rule": "self == oldSelf",
                                                        "message": "tenantId is immutable"}]}),
        "displayName": _s("The MFI's name as shown to people.", minLength=1, maxLength=128),
        "country": _s("ISO 3166-1 alpha-2 country code; selects the registry zone.", pattern=COUNTRY_PATTERN,
                      default="LS"),
        "suspend": {"type": "boolean", "default": False,
                    "description": "Scale the API and relay to zero and pause close of business."},
        "deletionPolicy": _s("On delete: Retain keeps the namespace and its database; Delete removes them.",
                             enum=["Retain", "Delete"], default="Retain"),
        "closeOfBusinessSchedule": _s("Cron schedule (Africa/Maseru) of the daily close of business.",
                                      default="30 22 * * *", minLength=9),
        "postgres": _o("The tenant's PostgreSQL, run by CloudNativePG.", {
            "instances": _i("Number of PostgreSQL instances (one primary, the rest streaming replicas).",
                            minimum=1, maximum=MAX_POSTGRES_INSTANCES, default=3),
            # No schema default: the right one depends on instances (1, or 0 for a single instance), and a
            # static default of 1 made the API server refuse `instances: 1` through the rule below.
            "synchronousReplicas": _i("Replicas that must confirm each commit; 0 for asynchronous only. "
                                      "Default: 1, or 0 when instances is 1.", minimum=0, maximum=8),
            "version": _s("PostgreSQL major version.", enum=list(POSTGRES_MAJOR_VERSIONS),
                          default=DEFAULT_POSTGRES_VERSION),
            "imageName": _s("Override the CNPG operand image (else ghcr.io/cloudnative-pg/postgresql:<version>)."),
            "storage": _o("Persistent storage per instance.", {
                "size": _s("Volume size.", pattern=QUANTITY_PATTERN, default="10Gi"),
                "storageClass": _s("StorageClass; the cluster default when omitted."),
            }, default={}),
            "backup": _o("Scheduled volume-snapshot backups; both fields are needed to enable them.", {
                "schedule": _s("CNPG six-field cron (seconds first), e.g. '0 0 2 * * *'."),
                "volumeSnapshotClass": _s("VolumeSnapshotClass to use."),
            }),
            "resources": _resources("Resources of each PostgreSQL instance."),
        }, default={}, **{"x-kubernetes-validations": [{
            # has(): the API server also checks the rules against the schema's own default ({}).
            "rule": ("!has(self.synchronousReplicas) || !has(self.instances)"
                     " || self.synchronousReplicas < self.instances"),
            "message": "synchronousReplicas must be less than instances"}]}),
        "api": _o("The tenant API.", {
            "image": _s("Container image of the tenant API (also used for jobs and the relay).", minLength=1),
            "replicas": _i("Minimum API replicas.", minimum=1, maximum=50, default=2),
            "maxReplicas": _i("Autoscaling ceiling.", minimum=1, maximum=100, default=5),
            "host": _s("Public host name; an Ingress is created when set.", pattern=HOST_PATTERN, maxLength=253),
            "ingressClassName": _s("IngressClass for the Ingress."),
            "resources": _resources("Resources of each API pod."),
        }, required=["image"], **{"x-kubernetes-validations": [{
            "rule": "self.maxReplicas >= self.replicas", "message": "maxReplicas must be at least replicas"}]}),
        "registryAccess": _o("Access to the shared credit registry.", {
            "registry": _s("Name of the CreditRegistry.", default="letsema"),
            "access": _s("read or readWrite.", enum=["read", "readWrite"], default="read"),
        }, default={}),
        "secrets": _o("Vault/OpenBao settings.", {
            "provider": _s("openbao or vault (HashiCorp Vault with its MongoDB plugin gives dynamic MongoDB users).",
                           enum=["openbao", "vault"], default="openbao"),
            "credentialTTL": _s("Default TTL of dynamic database credentials (PostgreSQL; MongoDB too with "
                                "provider vault).", pattern=DURATION_PATTERN, default="1h"),
            "maxCredentialTTL": _s("Maximum TTL of dynamic database credentials (PostgreSQL; MongoDB too with "
                                   "provider vault).", pattern=DURATION_PATTERN, default="24h"),
            "mongoPasswordRotation": _s("How often the tenant's MongoDB password is rotated (provider openbao; "
                                        "vault issues dynamic users instead).",
                                        pattern=DURATION_PATTERN, default="720h"),
        }, default={}),
    }, required=["tenantId", "displayName", "api"])
    status = _o("What the operator observed.", {
        "observedGeneration": _i("The spec generation last reconciled.", minimum=0),
        "phase": _s("Pending, Provisioning, Ready, Degraded, Suspended or Deleting."),
        "conditions": _conditions(TENANT_CONDITIONS),
        "endpoints": _o("Where the tenant is reached.", {
            "api": _s("In-cluster API URL."),
            "publicApi": _s("Public API URL when a host is set."),
            "database": _s("Read-write database Service."),
            "databaseReadOnly": _s("Read-only database Service."),
        }),
        "vault": _o("The Vault/OpenBao objects created for the tenant.", {
            "databaseConnection": _s("Database secrets engine connection."),
            "databaseRole": _s("Database secrets engine role."),
            "policy": _s("Policy name."),
            "kubernetesRole": _s("Kubernetes auth role."),
            "transitKey": _s("Transit key for PII."),
            "kvPath": _s("KV v2 prefix."),
            "mongoUser": _s("The tenant's registry user."),
            "rootRotatedAt": _s("When the database root credential was rotated (once).", format="date-time"),
        }),
    })
    return _o("A microfinance institution served by Letsema.", {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": spec, "status": status,
    }, required=["spec"])


def _registry_schema() -> dict[str, Any]:
    shard_key_field = _o("One field of the shard key.", {
        "field": _s("Document field.", minLength=1),
        "kind": _s("ascending or hashed.", enum=["ascending", "hashed"], default="ascending"),
    }, required=["field"])
    spec = _o("The desired registry.", {
        "mongodb": _o("The sharded MongoDB behind the registry.", {
            "mode": _s("Managed: the operator owns a PerconaServerMongoDB; External: use externalHost.",
                       enum=["Managed", "External"], default="Managed"),
            "name": _s("Name of the PerconaServerMongoDB.", pattern=TENANT_ID_PATTERN, default="letsema-registry"),
            "namespace": _s("Namespace of the PerconaServerMongoDB.", pattern=TENANT_ID_PATTERN,
                            default="letsema-registry"),
            "image": _s("Percona Server for MongoDB image."),
            "shards": _i("Number of shards (replica sets rs0..rsN-1).", minimum=1, maximum=16, default=2),
            "replicasPerShard": _i("Members per shard replica set.", minimum=3, maximum=7, default=3),
            "configServers": _i("Config server replica set size.", minimum=3, maximum=7, default=3),
            "mongos": _i("mongos routers.", minimum=1, maximum=10, default=2),
            "storageSize": _s("Volume size per shard member.", pattern=QUANTITY_PATTERN, default="20Gi"),
            "externalHost": _s("host:port of mongos for External mode."),
        }, default={}, **{"x-kubernetes-validations": [{
            "rule": "!has(self.mode) || self.mode != 'External' || has(self.externalHost)",
            "message": "externalHost is required when mode is External"}]}),
        "database": _s("Registry database name.", default="letsema_registry"),
        "collections": {"type": "array", "description": "Sharded collections and their shard keys (default: "
                        "the tenant API's credit_accounts, inquiries and disputes on {country, borrower_key}).",
                        "default": [{"name": c.name, "shardKey": [{"field": f.field, "kind": f.kind} for f in c.key]}
                                    for c in DEFAULT_COLLECTIONS],
                        "items": _o("A sharded collection.", {
                            "name": _s("Collection name.", minLength=1),
                            "shardKey": {"type": "array", "minItems": 1, "items": shard_key_field,
                                         "description": "Shard key fields in order."},
                        }, required=["name", "shardKey"])},
        "zones": {"type": "array", "description": "Zone sharding by country.",
                  "items": _o("A zone.", {
                      "name": _s("Zone name.", minLength=1),
                      "country": _s("Country code whose documents live in the zone.", pattern=COUNTRY_PATTERN),
                      "shards": {"type": "array", "items": {"type": "string"},
                                 "description": "Shard names (rs0, rs1, ...) in the zone."},
                  }, required=["name", "country", "shards"])},
    })
    status = _o("What the operator observed.", {
        "observedGeneration": _i("The spec generation last reconciled.", minimum=0),
        "phase": _s("Pending, Provisioning, Ready or Degraded."),
        "conditions": _conditions(REGISTRY_CONDITIONS),
        "endpoint": _s("mongos host:port."),
    })
    return _o("The credit registry shared by all MFIs.", {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": spec, "status": status,
    })


def _crd(*, kind: str, plural: str, singular: str, short_names: list[str], schema: dict[str, Any],
         columns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}",
                     "annotations": {"helm.sh/resource-policy": "keep"},
                     "labels": {"app.kubernetes.io/part-of": "letsema"}},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": singular,
                      "shortNames": short_names, "categories": ["letsema"]},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": schema},
            }],
        },
    }


READY_COLUMN = {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'}
AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def build_tenant_crd() -> dict[str, Any]:
    return _crd(kind="MicrofinanceTenant", plural=TENANT_PLURAL, singular="microfinancetenant",
                short_names=["mfi"], schema=_tenant_schema(), columns=[
                    {"name": "Tenant", "type": "string", "jsonPath": ".spec.tenantId"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    READY_COLUMN,
                    {"name": "Instances", "type": "integer", "jsonPath": ".spec.postgres.instances"},
                    {"name": "Country", "type": "string", "jsonPath": ".spec.country", "priority": 1},
                    AGE_COLUMN])


def build_registry_crd() -> dict[str, Any]:
    return _crd(kind="CreditRegistry", plural=REGISTRY_PLURAL, singular="creditregistry",
                short_names=["creg"], schema=_registry_schema(), columns=[
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.mongodb.mode"},
                    {"name": "Shards", "type": "integer", "jsonPath": ".spec.mongodb.shards"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                    READY_COLUMN, AGE_COLUMN])


def render_crd_files() -> dict[str, str]:
    """File name -> YAML text of each CRD, as committed under charts/letsema-crds/templates/."""
    header = "# Generated by `python -m letsema_operator.crds`; do not edit by hand.\n"
    return {
        f"{crd['metadata']['name']}.yaml": header + yaml.safe_dump(crd, sort_keys=False, width=120)
        for crd in (build_tenant_crd(), build_registry_crd())
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "charts/letsema-crds/templates")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in render_crd_files().items():
        (target / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
