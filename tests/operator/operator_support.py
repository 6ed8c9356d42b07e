"""Helpers shared by the operator tests: repository paths, upstream CRD schemas, sample specs."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
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


@dataclass
class EmbeddedOperator:
    """Run kopf's loop in its own thread and event loop, as an embedded operator does.

    kopf cancels, when it stops, every task of its loop created after it started; in the test's own
    loop that would include the test itself and the emulator's request handlers."""

    memo: kopf.Memo
    customize: Callable[[kopf.OperatorSettings], None] | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    crashes: list[BaseException] = field(default_factory=list)
    stop_flag: threading.Event | None = None

    async def start(self) -> None:
        stop, ready = threading.Event(), threading.Event()
        settings = kopf.OperatorSettings()
        if self.customize is not None:
            self.customize(settings)

        async def operate() -> None:
            # Stopped by cancellation rather than kopf's stop flag: after a stop flag kopf gives its
            # remaining tasks (timers, watch streams) a fixed 5 s before cancelling them, per test.
            task = asyncio.create_task(kopf.operator(clusterwide=True, standalone=True, memo=self.memo,
                                                     settings=settings, ready_flag=ready))
            while not stop.is_set() and not task.done():
                await asyncio.sleep(0.05)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        def run() -> None:
            try:
                asyncio.run(operate())
            except BaseException as error:  # reported by stop()
                self.crashes.append(error)

        thread = threading.Thread(target=run, name="kopf", daemon=True)
        thread.start()
        self.threads.append(thread)
        self.stop_flag = stop
        assert await asyncio.to_thread(ready.wait, 20), "the operator did not become ready"

    async def stop(self) -> None:
        assert self.stop_flag is not None
        self.stop_flag.set()
        for thread in self.threads:
            await asyncio.to_thread(thread.join, 30)
            assert not thread.is_alive(), "the operator did not stop within 30 seconds"
        self.threads.clear()
        assert not self.crashes, f"the operator crashed: {self.crashes!r}"


def apply_cnpg_roles(pg: Any, cluster: dict[str, Any],
                     secret_of: Callable[[str], dict[str, Any] | None]) -> None:
    """What CNPG does with a Cluster's managed roles and its database, on the PostgreSQL playing it."""
    import psycopg.sql as sql
    from letsema_operator.handlers.common import secret_values

    for role in cluster["spec"]["managed"]["roles"]:
        exists = pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role["name"],))
        attributes = "LOGIN" if role.get("login") else "NOLOGIN"
        attributes += " CREATEROLE" if role.get("createrole") else ""
        statement = sql.SQL("{} ROLE {} WITH " + attributes).format(
            sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(role["name"]))
        secret_ref = role.get("passwordSecret")
        if secret_ref:
            secret = secret_of(secret_ref["name"])
            assert secret is not None, "CNPG needs the role's password Secret"
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(secret_values(secret)["password"]))
        pg.execute(statement)
        for group in role.get("inRoles", []):
            pg.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(role["name"])))
    if not pg.execute("SELECT 1 FROM pg_database WHERE datname = 'app'"):
        pg.execute("CREATE DATABASE app OWNER letsema_app")
