"""``/healthz`` (the process answers), ``/readyz`` (its dependencies answer), ``/metrics``.

Plain Django views outside DRF and outside ATOMIC_REQUESTS, so a broken database
gives a 503 that names it rather than a 500 before the view runs.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from letsema_api.routers import REPLICA, replica_configured, replica_health
from letsema_api.vault import get_vault


def check_database() -> dict[str, Any]:
    conn = connections["default"]
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_user")
            (role,) = cursor.fetchone()
    except Exception:
        with contextlib.suppress(Exception):
            conn.close()
        raise
    return {"ok": True, "role": role}


def check_vault() -> dict[str, Any]:
    get_vault().check()
    return {"ok": True}


_mongo: Any = None
_mongo_lock = threading.Lock()


def _mongo_client() -> Any:
    global _mongo
    with _mongo_lock:
        if _mongo is None:
            import pymongo

            _mongo = pymongo.MongoClient(
                settings.LETSEMA.mongo_url, serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, connect=False
            )
        return _mongo


def check_registry() -> dict[str, Any]:
    if settings.LETSEMA.mongo_url:
        _mongo_client().admin.command("ping")
        return {"ok": True, "configured": True}
    # On Kubernetes the URL lives in Vault KV (see letsema_api.credit.registry_client).
    from letsema_api.credit.registry_client import RegistryUnavailable, get_registry

    try:
        registry = get_registry()
    except RegistryUnavailable:
        return {"ok": True, "configured": False}
    registry.database.client.admin.command("ping")
    return {"ok": True, "configured": True, "source": "vault"}


#: the checks whose failure makes the tenant unready (503); the others only make it ``degraded``
ESSENTIAL = frozenset({"database"})
CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": check_database,
    "vault": check_vault,
    "registry": check_registry,
}


@require_GET  # type: ignore[untyped-decorator]
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_GET  # type: ignore[untyped-decorator]
@transaction.non_atomic_requests  # type: ignore[untyped-decorator]
def readyz(request: HttpRequest) -> JsonResponse:
    """200 ``ready`` when the database, Vault and the registry answer; 200 ``degraded`` naming Vault or the
    registry when only they fail; 503 ``not_ready`` when the database does not answer.

    Only the database makes the tenant unready: without Vault the process keeps its current database login
    (and repayments need no Transit call), and without the registry loan writes commit with their outbox rows
    for the relay to publish later. Taking the pods out of service (this is the Kubernetes readiness probe)
    would turn a registry or Vault outage into a full outage, repayments included. The replica is reported
    but never makes the tenant unready either: reads fall back to the primary.
    """
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except Exception as exc:
            results[name] = {"ok": False, "error": (str(exc).strip().splitlines() or [type(exc).__name__])[0]}
    ready = all(r["ok"] for name, r in results.items() if name in ESSENTIAL)
    state = "not_ready" if not ready else ("ready" if all(r["ok"] for r in results.values()) else "degraded")
    body: dict[str, Any] = {"status": state, "checks": results}
    if replica_configured():
        status = replica_health().status()
        body["replica"] = {"healthy": status.healthy, "reason": status.reason, "lag_seconds": status.lag_seconds}
    return JsonResponse(body, status=200 if ready else 503)


@require_GET  # type: ignore[untyped-decorator]
@transaction.non_atomic_requests  # type: ignore[untyped-decorator]
def metrics(request: HttpRequest) -> HttpResponse:
    if replica_configured() and REPLICA in connections:
        replica_health().status()  # refreshes the lag gauge (cached)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)
