"""The tenant process's handles on the shared credit registry and on its own identity.

``get_registry()`` builds ONE ``MongoCreditRegistry`` per process on first use (never at import
time) from ``LETSEMA_MONGO_URL`` and ``LETSEMA_REGISTRY_DB``; the client connects lazily, so
building it never fails for an outage. ``registry_calls()`` turns an unreachable registry into a
503 ``registry_unavailable`` instead of a 500.

On Kubernetes the URL carries the tenant's MongoDB password, so the operator keeps it in Vault KV
(``<prefix>/mongodb``, field ``url``) and rotates it there; the manifest sets no
``LETSEMA_MONGO_URL``. Without that variable the URL is read from KV, and read again after the
registry refuses the login (the password was rotated).
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
            url = config.mongo_url or _url_from_vault()
            import pymongo

            client: pymongo.MongoClient[Any] = pymongo.MongoClient(
                url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, connect=False, tz_aware=True
            )
            _registry = MongoCreditRegistry.from_client(client, database=config.registry_db)
        return _registry


def _url_from_vault() -> str:
    """The registry URL the operator keeps in Vault KV ``<prefix>/mongodb`` (field ``url``)."""
    from letsema_api.vault import VaultRefused, VaultUnavailable, get_vault

    try:
        url = get_vault().kv("mongodb").get("url")
    except (VaultRefused, VaultUnavailable) as exc:
        raise RegistryUnavailable(
            "the credit registry is not configured: no LETSEMA_MONGO_URL and no 'mongodb' secret in Vault KV",
            details={"setting": "LETSEMA_MONGO_URL", "vault_error": str(exc).splitlines()[0]},
        ) from exc
    if not url:
        raise RegistryUnavailable(
            "the Vault KV secret 'mongodb' has no 'url' field", details={"setting": "LETSEMA_MONGO_URL"}
        )
    return url


def _forget_registry() -> None:
    """Drop the process's registry so the next call builds it again (with a fresh URL from Vault)."""
    global _registry
    with _lock:
        old, _registry = _registry, None
    if old is not None:
        old.database.client.close()


def current_tenant() -> Tenant:
    """This MFI as the core's use cases know it (``lender_mfi`` = the tenant id)."""
    from django.conf import settings

    return Tenant(mfi_id=settings.LETSEMA.tenant_id)


@contextmanager
def registry_calls() -> Iterator[None]:
    """Run registry calls; a connection failure or timeout becomes ``RegistryUnavailable`` (503)."""
    from django.conf import settings
    from pymongo.errors import AutoReconnect, ConnectionFailure, OperationFailure, ServerSelectionTimeoutError

    try:
        yield
    except OperationFailure as exc:
        if exc.code != 18 or settings.LETSEMA.mongo_url:  # 18: AuthenticationFailed
            raise
        # The operator rotated the password in Vault: the next call reads the new URL.
        _forget_registry()
        raise RegistryUnavailable(
            "the credit registry refused the login; the credentials are being refreshed, try again",
            details={"error": "AuthenticationFailed"},
        ) from exc
    except (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect) as exc:
        raise RegistryUnavailable(
            "the credit registry does not answer; try again later", details={"error": type(exc).__name__}
        ) from exc
