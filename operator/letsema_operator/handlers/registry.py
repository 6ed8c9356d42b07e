"""CreditRegistry: the PerconaServerMongoDB it owns (or an external one), sharding, zones and roles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kopf

from letsema_operator import builders
from letsema_operator.builders.registry import PSMDB_API_VERSION, build_registry_roles, mongos_host
from letsema_operator.clients.kube import KubeClient
from letsema_operator.conditions import set_condition
from letsema_operator.handlers.common import Logger, registry_admin, utc_now
from letsema_operator.spec import GROUP, REGISTRY_PLURAL, VERSION, SpecError, parse_registry_spec


def psmdb_ready(psmdb: Mapping[str, Any] | None) -> bool:
    """Percona reports ``status.state: ready`` once every replica set, config server and mongos is up."""
    return psmdb is not None and (psmdb.get("status") or {}).get("state") == "ready"


@kopf.on.resume(GROUP, VERSION, REGISTRY_PLURAL, backoff=15)
@kopf.on.create(GROUP, VERSION, REGISTRY_PLURAL, backoff=15)
@kopf.on.update(GROUP, VERSION, REGISTRY_PLURAL, backoff=15)
def reconcile_registry(spec: Mapping[str, Any], name: str, meta: Mapping[str, Any], status: Mapping[str, Any],
                       body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Logger,
                       **_: Any) -> None:
    """Ensure the PerconaServerMongoDB (Managed mode), wait for it, then shard collections, set zones and
    create the registry roles through mongos."""
    try:
        parsed = parse_registry_spec(spec)
    except SpecError as error:
        raise kopf.PermanentError(str(error)) from error
    kube: KubeClient = memo["kube"]
    generation = meta.get("generation")
    now = utc_now()
    conditions = list(status.get("conditions") or [])
    patch.status["endpoint"] = mongos_host(spec=parsed)
    if parsed.mongodb.mode == "Managed":
        kube.ensure(builders.build_registry_namespace(registry_name=name, spec=parsed))
        kube.ensure(builders.build_psmdb(registry_name=name, spec=parsed))
        psmdb = kube.get(PSMDB_API_VERSION, "PerconaServerMongoDB", parsed.mongodb.name, parsed.mongodb.namespace)
        if not psmdb_ready(psmdb):
            patch.status["phase"] = "Provisioning"
            patch.status["conditions"] = set_condition(
                conditions, type_="Reachable", ok=False, reason="WaitingForPercona",
                message=f"PerconaServerMongoDB {parsed.mongodb.name} is not ready", generation=generation, now=now)
            raise kopf.TemporaryError("waiting for the PerconaServerMongoDB", delay=memo["config"].retry_delay_seconds)
    _registry, admin = registry_admin(memo, kube, body)
    try:
        if not admin.ping():
            kopf.warn(body, reason="Unreachable", message=f"mongos at {mongos_host(spec=parsed)} does not answer")
            raise kopf.TemporaryError("mongos is not reachable", delay=memo["config"].retry_delay_seconds)
        admin.ensure_sharding(parsed)
        admin.ensure_roles(parsed.database, build_registry_roles(spec=parsed))
    finally:
        admin.close()
    for type_, reason, message in (
        ("Reachable", "Pinged", "mongos answers"),
        ("Sharded", "Sharded", f"{len(parsed.collections)} collections, {len(parsed.zones)} zones"),
        ("RolesReady", "RolesCreated", "letsema_registry_ro and letsema_registry_rw exist"),
        ("Ready", "AllReady", "the registry is usable"),
    ):
        conditions = set_condition(conditions, type_=type_, ok=True, reason=reason, message=message,
                                   generation=generation, now=now)
    patch.status["conditions"] = conditions
    patch.status["phase"] = "Ready"
    patch.status["observedGeneration"] = generation
    logger.info("registry %s is ready", name)


def observe_registry(body: kopf.Body, meta: Mapping[str, Any], status: Mapping[str, Any], patch: kopf.Patch,
                     memo: kopf.Memo, **_: Any) -> None:
    """Re-check reachability; a Ready registry that stops answering becomes Degraded (with an event).

    A timer registered at operator startup (``handlers.timers``), every ``observe_interval_seconds``."""
    if status.get("phase") not in ("Ready", "Degraded"):
        return  # the reconcile handler is still bringing it up
    try:
        _registry, admin = registry_admin(memo, memo["kube"], body)
    except SpecError:
        return
    try:
        reachable = admin.ping()
    finally:
        admin.close()
    now = utc_now()
    conditions = set_condition(status.get("conditions") or [], type_="Reachable", ok=reachable,
                               reason="Pinged" if reachable else "NoAnswer", message="mongos ping",
                               generation=meta.get("generation"), now=now)
    conditions = set_condition(conditions, type_="Ready", ok=reachable,
                               reason="AllReady" if reachable else "Unreachable",
                               message="the registry is usable" if reachable else "mongos does not answer",
                               generation=meta.get("generation"), now=now)
    phase = "Ready" if reachable else "Degraded"
    if phase == "Degraded" and status.get("phase") == "Ready":
        kopf.warn(body, reason="Unreachable", message="the credit registry stopped answering")
    if conditions != list(status.get("conditions") or []) or phase != status.get("phase"):
        patch.status["conditions"] = conditions
        patch.status["phase"] = phase
