"""The process's handle on the shared credit registry (``LETSEMA_MONGO_URL``), built on first use.

No I/O until the first call that needs the server; short timeouts so an outage fails a relay pass (or a
credit-report pull) in seconds instead of hanging a request.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from letsema_api.registry import MongoCreditRegistry
from letsema_core.errors import DomainError

SERVER_SELECTION_TIMEOUT_MS = 3000

_client: Any = None
_lock = threading.Lock()


class RegistryNotConfigured(DomainError):
    """The tenant has no ``LETSEMA_MONGO_URL``: it cannot pull reports or publish events."""

    code = "registry_not_configured"
    http_status = 503


def mongo_client(url: str) -> Any:
    import pymongo

    return pymongo.MongoClient(
        url,
        serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        connectTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
        socketTimeoutMS=10_000,
        connect=False,
    )


def credit_registry() -> MongoCreditRegistry:
    """The ``CreditRegistry`` port on the configured server. Raises ``RegistryNotConfigured``."""
    global _client
    url = settings.LETSEMA.mongo_url
    if not url:
        raise RegistryNotConfigured("this tenant has no credit registry configured (LETSEMA_MONGO_URL)")
    with _lock:
        if _client is None:
            _client = mongo_client(url)
        client = _client
    return MongoCreditRegistry.from_client(client, database=settings.LETSEMA.registry_db)
