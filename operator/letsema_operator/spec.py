"""Parse and check the specs of our custom resources.

The API server applies the CRD defaults and validation; the operator repeats both here so that it never
acts on a half-defaulted or malformed object (a test API server such as kmock does neither, and an old
object may predate a default). A bad spec raises :class:`SpecError`, which the handlers turn into
``kopf.PermanentError``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GROUP = "letsema.io"
VERSION = "v1alpha1"
TENANT_PLURAL = "microfinancetenants"
REGISTRY_PLURAL = "creditregistries"

TENANT_ID_PATTERN = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$"
DURATION_PATTERN = r"^[0-9]+(s|m|h)$"
HOST_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
POSTGRES_MAJOR_VERSIONS = ("15", "16", "17")
DEFAULT_POSTGRES_VERSION = "16"
MAX_POSTGRES_INSTANCES = 9


class SpecError(ValueError):
    """The custom resource's spec cannot be acted on; ``field`` names the offending path."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(f"spec.{field_path}: {message}")
        self.field_path = field_path


@dataclass(frozen=True)
class Resources:
    """Kubernetes container resources as quantity strings (never floats)."""

    requests: Mapping[str, str]
    limits: Mapping[str, str]

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"requests": dict(self.requests), "limits": dict(self.limits)}


@dataclass(frozen=True)
class PostgresSpec:
    instances: int
    storage_size: str
    storage_class: str | None
    version: str
    image_name: str | None
    synchronous_replicas: int
    backup_schedule: str | None
    backup_volume_snapshot_class: str | None
    resources: Resources


@dataclass(frozen=True)
class ApiSpec:
    image: str
    replicas: int
    max_replicas: int
    resources: Resources
    host: str | None
    ingress_class_name: str | None


@dataclass(frozen=True)
class RegistryAccessSpec:
    registry_name: str
    access: str  # "read" | "readWrite"


@dataclass(frozen=True)
class SecretsSpec:
    provider: str  # "openbao" | "vault"
    credential_ttl: str
    max_credential_ttl: str
    mongo_password_rotation: str


@dataclass(frozen=True)
class TenantSpec:
    tenant_id: str
    display_name: str
    country: str
    suspend: bool
    deletion_policy: str  # "Retain" | "Delete"
    postgres: PostgresSpec
    api: ApiSpec
    registry: RegistryAccessSpec
    secrets: SecretsSpec
    close_of_business_schedule: str


@dataclass(frozen=True)
class ShardKeyField:
    field: str
    kind: str  # "ascending" | "hashed"


@dataclass(frozen=True)
class ShardedCollection:
    name: str
    key: tuple[ShardKeyField, ...]


@dataclass(frozen=True)
class Zone:
    name: str
    country: str
    shards: tuple[str, ...]


@dataclass(frozen=True)
class MongoClusterSpec:
    mode: str  # "Managed" | "External"
    name: str
    namespace: str
    image: str
    shards: int
    replicas_per_shard: int
    config_servers: int
    mongos: int
    storage_size: str
    external_host: str | None


@dataclass(frozen=True)
class RegistrySpec:
    mongodb: MongoClusterSpec
    database: str
    collections: tuple[ShardedCollection, ...] = field(default_factory=tuple)
    zones: tuple[Zone, ...] = field(default_factory=tuple)


DEFAULT_DB_RESOURCES = Resources(requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "1Gi"})
DEFAULT_API_RESOURCES = Resources(requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "512Mi"})
_COUNTRY_BORROWER_KEY = (ShardKeyField("country", "ascending"), ShardKeyField("borrower_key", "ascending"))
# The collections the tenant API's registry adapter uses (letsema_api.registry.schema, checked by a test):
# each loan's account revisions, the reports pulled, the disputes; all sharded on {country, borrower_key}.
REGISTRY_ACCOUNTS = "credit_accounts"
REGISTRY_INQUIRIES = "inquiries"
REGISTRY_DISPUTES = "disputes"
DEFAULT_COLLECTIONS = tuple(ShardedCollection(name, _COUNTRY_BORROWER_KEY)
                            for name in (REGISTRY_ACCOUNTS, REGISTRY_INQUIRIES, REGISTRY_DISPUTES))
DEFAULT_PSMDB_IMAGE = "percona/percona-server-mongodb:7.0.18-11"


def _section(spec: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = spec.get(key) or {}
    if not isinstance(value, Mapping):
        raise SpecError(key, "must be an object")
    return value


def _int(section: Mapping[str, Any], key: str, path: str, *, default: int, minimum: int, maximum: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise SpecError(path, "must be an integer")
    if not minimum <= value <= maximum:
        raise SpecError(path, f"must be between {minimum} and {maximum}")
    return value


def _str(section: Mapping[str, Any], key: str, path: str, *, default: str | None = None,
         pattern: str | None = None, choices: tuple[str, ...] | None = None) -> str:
    value = section.get(key, default)
    if value is None:
        raise SpecError(path, "is required")
    if not isinstance(value, str):
        raise SpecError(path, "must be a string")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise SpecError(path, f"must match {pattern}")
    if choices is not None and value not in choices:
        raise SpecError(path, f"must be one of {', '.join(choices)}")
    return value


def _optional_str(section: Mapping[str, Any], key: str, path: str, *, pattern: str | None = None) -> str | None:
    if section.get(key) in (None, ""):
        return None
    return _str(section, key, path, pattern=pattern)


def _resources(section: Mapping[str, Any], path: str, default: Resources) -> Resources:
    raw = section.get("resources")
    if raw is None:
        return default
    if not isinstance(raw, Mapping):
        raise SpecError(path, "must be an object")
    parts: dict[str, dict[str, str]] = {}
    for part in ("requests", "limits"):
        values = raw.get(part) or {}
        if not isinstance(values, Mapping):
            raise SpecError(f"{path}.{part}", "must be an object")
        for name, quantity in values.items():
            if name not in ("cpu", "memory"):
                raise SpecError(f"{path}.{part}.{name}", "only cpu and memory are supported")
            if not isinstance(quantity, str) or not re.fullmatch(QUANTITY_PATTERN, quantity):
                raise SpecError(f"{path}.{part}.{name}", "must be a Kubernetes quantity string such as 500m or 1Gi")
        parts[part] = {str(k): str(v) for k, v in values.items()}
    return Resources(requests=parts["requests"], limits=parts["limits"])


def parse_tenant_spec(spec: Mapping[str, Any]) -> TenantSpec:
    """Return the defaulted, checked spec of a MicrofinanceTenant; raises SpecError."""
    tenant_id = _str(spec, "tenantId", "tenantId", pattern=TENANT_ID_PATTERN)
    pg = _section(spec, "postgres")
    instances = _int(pg, "instances", "postgres.instances", default=3, minimum=1, maximum=MAX_POSTGRES_INSTANCES)
    sync = _int(pg, "synchronousReplicas", "postgres.synchronousReplicas", default=min(1, instances - 1),
                minimum=0, maximum=8)
    if sync >= instances:
        raise SpecError("postgres.synchronousReplicas", "must be less than postgres.instances")
    storage = _section(pg, "storage")
    backup = _section(pg, "backup")
    api = _section(spec, "api")
    replicas = _int(api, "replicas", "api.replicas", default=2, minimum=1, maximum=50)
    max_replicas = _int(api, "maxReplicas", "api.maxReplicas", default=max(replicas, 5), minimum=1, maximum=100)
    if max_replicas < replicas:
        raise SpecError("api.maxReplicas", "must be at least api.replicas")
    registry = _section(spec, "registryAccess")
    secrets = _section(spec, "secrets")
    return TenantSpec(
        tenant_id=tenant_id,
        display_name=_str(spec, "displayName", "displayName"),
        country=_str(spec, "country", "country", default="LS", pattern=COUNTRY_PATTERN),
        suspend=bool(spec.get("suspend", False)),
        deletion_policy=_str(spec, "deletionPolicy", "deletionPolicy", default="Retain", choices=("Retain", "Delete")),
        postgres=PostgresSpec(
            instances=instances,
            storage_size=_str(storage, "size", "postgres.storage.size", default="10Gi", pattern=QUANTITY_PATTERN),
            storage_class=_optional_str(storage, "storageClass", "postgres.storage.storageClass"),
            version=_str(pg, "version", "postgres.version", default=DEFAULT_POSTGRES_VERSION,
                         choices=POSTGRES_MAJOR_VERSIONS),
            image_name=_optional_str(pg, "imageName", "postgres.imageName"),
            synchronous_replicas=sync,
            backup_schedule=_optional_str(backup, "schedule", "postgres.backup.schedule"),
            backup_volume_snapshot_class=_optional_str(backup, "volumeSnapshotClass",
                                                       "postgres.backup.volumeSnapshotClass"),
            resources=_resources(pg, "postgres.resources", DEFAULT_DB_RESOURCES),
        ),
        api=ApiSpec(
            image=_str(api, "image", "api.image"),
            replicas=replicas,
            max_replicas=max_replicas,
            resources=_resources(api, "api.resources", DEFAULT_API_RESOURCES),
            host=_optional_str(api, "host", "api.host", pattern=HOST_PATTERN),
            ingress_class_name=_optional_str(api, "ingressClassName", "api.ingressClassName"),
        ),
        registry=RegistryAccessSpec(
            registry_name=_str(registry, "registry", "registryAccess.registry", default="letsema"),
            access=_str(registry, "access", "registryAccess.access", default="read", choices=("read", "readWrite")),
        ),
        secrets=SecretsSpec(
            provider=_str(secrets, "provider", "secrets.provider", default="openbao", choices=("openbao", "vault")),
            credential_ttl=_str(secrets, "credentialTTL", "secrets.credentialTTL", default="1h",
                                pattern=DURATION_PATTERN),
            max_credential_ttl=_str(secrets, "maxCredentialTTL", "secrets.maxCredentialTTL", default="24h",
                                    pattern=DURATION_PATTERN),
            mongo_password_rotation=_str(secrets, "mongoPasswordRotation", "secrets.mongoPasswordRotation",
                                         default="720h", pattern=DURATION_PATTERN),
        ),
        close_of_business_schedule=_str(spec, "closeOfBusinessSchedule", "closeOfBusinessSchedule",
                                        default="30 22 * * *"),
    )


def _shard_key(raw: Any, path: str) -> tuple[ShardKeyField, ...]:
    if not isinstance(raw, list) or not raw:
        raise SpecError(path, "must be a non-empty list")
    fields: list[ShardKeyField] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise SpecError(f"{path}[{index}]", "must be an object")
        fields.append(ShardKeyField(
            field=_str(item, "field", f"{path}[{index}].field"),
            kind=_str(item, "kind", f"{path}[{index}].kind", default="ascending", choices=("ascending", "hashed")),
        ))
    return tuple(fields)


def parse_registry_spec(spec: Mapping[str, Any]) -> RegistrySpec:
    """Return the defaulted, checked spec of a CreditRegistry; raises SpecError."""
    mongo = _section(spec, "mongodb")
    mode = _str(mongo, "mode", "mongodb.mode", default="Managed", choices=("Managed", "External"))
    external_host = _optional_str(mongo, "externalHost", "mongodb.externalHost")
    if mode == "External" and external_host is None:
        raise SpecError("mongodb.externalHost", "is required when mongodb.mode is External")
    shards = _int(mongo, "shards", "mongodb.shards", default=2, minimum=1, maximum=16)
    collections_raw = spec.get("collections")
    collections: tuple[ShardedCollection, ...]
    if collections_raw is None:
        collections = DEFAULT_COLLECTIONS
    else:
        if not isinstance(collections_raw, list):
            raise SpecError("collections", "must be a list")
        collections = tuple(
            ShardedCollection(
                name=_str(item, "name", f"collections[{i}].name"),
                key=_shard_key(item.get("shardKey"), f"collections[{i}].shardKey"),
            )
            for i, item in enumerate(collections_raw)
        )
    zones_raw = spec.get("zones") or []
    if not isinstance(zones_raw, list):
        raise SpecError("zones", "must be a list")
    shard_names = {f"rs{i}" for i in range(shards)}
    zones: list[Zone] = []
    for i, item in enumerate(zones_raw):
        zone_shards = tuple(str(s) for s in item.get("shards") or [])
        unknown = sorted(set(zone_shards) - shard_names)
        if unknown:
            raise SpecError(f"zones[{i}].shards", f"unknown shard(s) {', '.join(unknown)}")
        zones.append(Zone(
            name=_str(item, "name", f"zones[{i}].name"),
            country=_str(item, "country", f"zones[{i}].country", pattern=COUNTRY_PATTERN),
            shards=zone_shards,
        ))
    return RegistrySpec(
        mongodb=MongoClusterSpec(
            mode=mode,
            name=_str(mongo, "name", "mongodb.name", default="letsema-registry", pattern=TENANT_ID_PATTERN),
            namespace=_str(mongo, "namespace", "mongodb.namespace", default="letsema-registry",
                           pattern=TENANT_ID_PATTERN),
            image=_str(mongo, "image", "mongodb.image", default=DEFAULT_PSMDB_IMAGE),
            shards=shards,
            replicas_per_shard=_int(mongo, "replicasPerShard", "mongodb.replicasPerShard", default=3, minimum=3,
                                    maximum=7),
            config_servers=_int(mongo, "configServers", "mongodb.configServers", default=3, minimum=3, maximum=7),
            mongos=_int(mongo, "mongos", "mongodb.mongos", default=2, minimum=1, maximum=10),
            storage_size=_str(mongo, "storageSize", "mongodb.storageSize", default="20Gi", pattern=QUANTITY_PATTERN),
            external_host=external_host,
        ),
        database=_str(spec, "database", "database", default="letsema_registry"),
        collections=collections,
        zones=tuple(zones),
    )
