"""The tenant process's handles on the shared credit registry and on its own identity.

``get_registry()`` builds ONE ``MongoCreditRegistry`` per process on first use (never at import
time) from ``LETSEMA_MONGO_URL`` and ``LETSEMA_REGISTRY_DB``; the client connects lazily, so
building it never fails for an outage. ``registry_calls()`` turns an unreachable registry into a
503 ``registry_unavailable`` instead of a 500.

On Kubernetes the manifest sets no ``LETSEMA_MONGO_URL``; the operator keeps the tenant's way in
in Vault KV (``<prefix>/mongodb``), in one of two shapes:

- static (OpenBao): field ``url``, the tenant's one MongoDB user with a password the operator rotates;
  read again after the registry refuses the login (the password was rotated);
- dynamic (HashiCorp Vault's MongoDB plugin): ``mode: dynamic`` with ``credentialsPath`` (the
  ``creds`` path of the tenant's registry role), ``host``, ``database``, ``authSource`` and
  ``options``. Each process holds one short-lived user at a time through a ``CredentialManager``
  (renewed at two thirds of its lease, replaced when renewal is refused or at the maximum TTL, and
  replaced at once when the registry refuses it: the lease was revoked). A replaced client is closed a
  minute later, when the requests that still held it have finished.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from letsema_api.db.credentials import CredentialManager
from letsema_api.registry.mongo import MongoCreditRegistry
from letsema_api.vault import DatabaseCredential, LeaseRenewal, VaultRefused, VaultUnavailable, get_vault
from letsema_core.errors import DomainError
from letsema_core.services.context import Tenant

_registry: MongoCreditRegistry | None = None
_lock = threading.Lock()
_dynamic: _DynamicUsers | None = None
_RETIRE_AFTER_SECONDS = 60.0


class RegistryUnavailable(DomainError):
    """The shared credit registry is not configured or does not answer; retrying later is safe."""

    code = "registry_unavailable"
    http_status = 503


def get_registry() -> MongoCreditRegistry:
    """The process's registry adapter. Raises ``RegistryUnavailable`` when no MongoDB URL is configured."""
    global _registry
    from django.conf import settings

    with _lock:
        if _dynamic is not None:
            return _dynamic.registry()
        if _registry is None:
            config = settings.LETSEMA
            if config.mongo_url:
                url = config.mongo_url
            else:
                record = _record_from_vault()
                if record.get("mode") == "dynamic":
                    return _start_dynamic(record, config.registry_db).registry()
                url = record.get("url", "")
                if not url:
                    raise RegistryUnavailable(
                        "the Vault KV secret 'mongodb' has no 'url' field", details={"setting": "LETSEMA_MONGO_URL"}
                    )
            _registry = MongoCreditRegistry.from_client(_client(url), database=config.registry_db)
        return _registry


def _client(url: str) -> Any:
    import pymongo

    return pymongo.MongoClient(url, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000, connect=False, tz_aware=True)


def _record_from_vault() -> dict[str, str]:
    """The registry record the operator keeps in Vault KV ``<prefix>/mongodb``."""
    try:
        return get_vault().kv("mongodb")
    except (VaultRefused, VaultUnavailable) as exc:
        raise RegistryUnavailable(
            "the credit registry is not configured: no LETSEMA_MONGO_URL and no 'mongodb' secret in Vault KV",
            details={"setting": "LETSEMA_MONGO_URL", "vault_error": str(exc).splitlines()[0]},
        ) from exc


class _VaultRegistryCredentials:
    """``CredentialSource`` over the registry role's ``creds`` path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def database_credentials(self) -> DatabaseCredential:
        return get_vault().issue_credentials(self.path)

    def renew_lease(self, lease_id: str, *, increment_seconds: int | None = None) -> LeaseRenewal:
        return get_vault().renew_lease(lease_id, increment_seconds=increment_seconds)


class _DynamicUsers:
    """The registry through Vault-issued users: one client per credential, swapped when it changes."""

    def __init__(self, record: dict[str, str], database: str, manager: CredentialManager) -> None:
        missing = [name for name in ("credentialsPath", "host") if not record.get(name)]
        if missing:
            raise RegistryUnavailable(
                f"the Vault KV secret 'mongodb' (dynamic) lacks {', '.join(missing)}",
                details={"setting": "LETSEMA_MONGO_URL"},
            )
        self.record = record
        self.database = record.get("database") or database
        self.manager = manager
        self.username: str | None = None
        self.current: MongoCreditRegistry | None = None
        self.retired: list[tuple[float, Any]] = []
        self.clock = time.monotonic

    def url(self, credential: DatabaseCredential) -> str:
        auth_source = self.record.get("authSource") or self.database
        options = f"authSource={quote(auth_source, safe='')}"
        if self.record.get("options"):
            options += "&" + self.record["options"]
        return (
            f"mongodb://{quote(credential.username, safe='')}:{quote(credential.password, safe='')}"
            f"@{self.record['host']}/{self.database}?{options}"
        )

    def registry(self) -> MongoCreditRegistry:
        """The registry for the current credential (called under ``_lock``)."""
        try:
            credential = self.manager.current()
        except (VaultRefused, VaultUnavailable) as exc:
            raise RegistryUnavailable(
                "no credit registry user could be issued by Vault; try again later",
                details={"credentials_path": self.record["credentialsPath"], "vault_error": str(exc).splitlines()[0]},
            ) from exc
        now = self.clock()
        if self.current is None or credential.username != self.username:
            if self.current is not None:
                self.retired.append((now + _RETIRE_AFTER_SECONDS, self.current.database.client))
            self.current = MongoCreditRegistry.from_client(_client(self.url(credential)), database=self.database)
            self.username = credential.username
        while self.retired and self.retired[0][0] <= now:
            self.retired.pop(0)[1].close()
        return self.current

    def refused(self) -> None:
        """The registry refused the login: the lease was revoked or has ended; issue a new user next time."""
        if self.username is not None:
            self.manager.invalidate(self.username)

    def close(self) -> None:
        for _, client in self.retired:
            client.close()
        if self.current is not None:
            self.current.database.client.close()


def _start_dynamic(record: dict[str, str], database: str) -> _DynamicUsers:
    global _dynamic
    source = _VaultRegistryCredentials(record.get("credentialsPath", ""))
    _dynamic = _DynamicUsers(record, database, CredentialManager(source=source))
    return _dynamic


AUTHENTICATION_FAILED = 18  # MongoDB's code for a refused login


def login_refused() -> None:
    """The registry refused the process's login: make the next ``get_registry()`` log in afresh.

    With a dynamic user the lease was revoked or has ended, so the next call gets a new user; with the
    static user the operator rotated the password in Vault, so the next call reads the new URL."""
    with _lock:
        dynamic = _dynamic
        if dynamic is not None:
            dynamic.refused()
    if dynamic is None:
        _forget_registry()


def _forget_registry() -> None:
    """Drop the process's registry so the next call builds it again (a fresh URL or user from Vault)."""
    global _registry, _dynamic
    with _lock:
        old, _registry = _registry, None
        dynamic, _dynamic = _dynamic, None
    if old is not None:
        old.database.client.close()
    if dynamic is not None:
        dynamic.close()


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
        if exc.code != AUTHENTICATION_FAILED or settings.LETSEMA.mongo_url:
            raise
        login_refused()
        raise RegistryUnavailable(
            "the credit registry refused the login; the credentials are being refreshed, try again",
            details={"error": "AuthenticationFailed"},
        ) from exc
    except (ServerSelectionTimeoutError, ConnectionFailure, AutoReconnect) as exc:
        raise RegistryUnavailable(
            "the credit registry does not answer; try again later", details={"error": type(exc).__name__}
        ) from exc
