"""The tenant process's handles on the shared credit registry and on its own identity.

``get_registry()`` builds ONE ``MongoCreditRegistry`` per process on first use (never at import
time) from ``LETSEMA_MONGO_URL`` and ``LETSEMA_REGISTRY_DB``; the client connects lazily, so
building it never fails for an outage. ``registry_calls()`` turns an unreachable registry into a
503 ``registry_unavailable`` instead of a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from letsema_api.registry.mongo import MongoCreditRegistry
from letsema_core.errors import DomainError
from letsema_core.services.context import Tenant

_registry: MongoCreditRegistry | None = None
_lock = threading.Lock()


class RegistryUnavailable(DomainError):
    """The shared credit registry is not configured or does not answer; retrying later is safe."""

    code = "registry_unavailable"
    http_status = 503


def get_registry() -> MongoCreditRegistry:
    """The process's registry adapter. Raises ``RegistryUnavailable`` when no MongoDB URL is configured."""
    global _registry
    from django.conf import settings

    with _lock:
        if _registry is None:
            config = settings.LETSEMA
            if not config.mongo_url:
                raise RegistryUnavailable(
                    "the credit registry is not configured (LETSEMA_MONGO_URL)",
                    details={"setting": "LETSEMA_MONGO_URL"},
                )
            import pymongo

            client: pymongo.MongoClient[Any] = pymongo.MongoClient(
                config.mongo_url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, connect=False, tz_aware=True
            )
            _registry = MongoCreditRegistry.from_client(client, database=config.registry_db)
        return _registry


def current_tenant() -> Tenant:
    """This MFI as the core's use cases know it (``lender_mfi`` = the tenant id)."""
    from django.conf import settings

    return Tenant(mfi_id=settings.LETSEMA.tenant_id)


@contextmanager
def registry_calls() -> Iterator[None]:
    """Run registry calls; a connection failure or timeout becomes ``RegistryUnavailable`` (503)."""
    from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

    try:
        yield
    except (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect) as exc:
        raise RegistryUnavailable(
            "the credit registry does not answer; try again later", details={"error": type(exc).__name__}
        ) from exc
