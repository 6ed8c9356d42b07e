"""The current dynamic database credential of a process: issued, renewed and replaced on time.

One ``CredentialManager`` serves every connection of the process (all threads, the
primary and the replica: PostgreSQL roles are cluster-wide and stream to replicas).
A new connection asks ``current()``; the manager renews the lease once two thirds
of it have passed and fetches a new credential when renewal is refused or the
lease has reached its maximum TTL. If Vault cannot be reached, the current
credential keeps serving for as long as it is valid (with a warning).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from letsema_api.vault import DatabaseCredential, LeaseRenewal, VaultRefused, VaultUnavailable

log = logging.getLogger(__name__)


class CredentialSource(Protocol):
    def database_credentials(self) -> DatabaseCredential: ...

    def renew_lease(self, lease_id: str, *, increment_seconds: int | None = None) -> LeaseRenewal: ...


class CredentialManager:
    """Hands out a valid credential for each new connection. Thread-safe.

    ``renew_fraction``: renew once this fraction of the lease has passed (2/3).
    ``min_remaining_seconds``: a credential with less validity left than this is replaced, not
    used for new connections (connections live ``CONN_MAX_AGE`` seconds, far less).
    """

    def __init__(
        self,
        *,
        source: CredentialSource,
        clock: Callable[[], float] = time.monotonic,
        renew_fraction: float = 2 / 3,
        min_remaining_seconds: float = 300,
        retry_seconds: float = 15,
    ) -> None:
        self.source = source
        self.clock = clock
        self.renew_fraction = renew_fraction
        self.min_remaining_seconds = min_remaining_seconds
        self.retry_seconds = retry_seconds
        self._credential: DatabaseCredential | None = None
        self._next_renewal = 0.0
        self._lock = threading.Lock()
        self.issued_count = 0
        self.renewed_count = 0

    def _expires_at(self, cred: DatabaseCredential) -> float:
        return cred.issued_at + cred.lease_duration_seconds

    def _adopt(self, cred: DatabaseCredential) -> DatabaseCredential:
        self._credential = cred
        self._next_renewal = cred.issued_at + cred.lease_duration_seconds * self.renew_fraction
        return cred

    def _issue(self) -> DatabaseCredential:
        cred = self.source.database_credentials()
        self.issued_count += 1
        log.info("database credential issued: user %s, lease %ss", cred.username, cred.lease_duration_seconds)
        return self._adopt(cred)

    def current(self) -> DatabaseCredential:
        """The credential for a new connection. Raises ``VaultUnavailable``/``VaultRefused`` only when
        there is no valid credential left to fall back on."""
        with self._lock:
            cred = self._credential
            if cred is None:
                return self._issue()
            now = self.clock()
            if now < self._next_renewal:
                return cred
            try:
                return self._renew_or_replace(cred, now)
            except VaultUnavailable as exc:
                if now < self._expires_at(cred):
                    log.warning(
                        "Vault unavailable, keeping database user %s (valid %.0fs more): %s",
                        cred.username,
                        self._expires_at(cred) - now,
                        exc,
                    )
                    self._next_renewal = now + self.retry_seconds
                    return cred
                raise

    def _renew_or_replace(self, cred: DatabaseCredential, now: float) -> DatabaseCredential:
        if cred.renewable:
            try:
                renewal = self.source.renew_lease(cred.lease_id)
            except VaultRefused as exc:
                log.info("lease of %s not renewable any more (%s): issuing a new credential", cred.username, exc)
            else:
                if renewal.lease_duration_seconds >= self.min_remaining_seconds:
                    self.renewed_count += 1
                    return self._adopt(
                        dataclasses.replace(
                            cred,
                            lease_id=renewal.lease_id,
                            lease_duration_seconds=renewal.lease_duration_seconds,
                            renewable=renewal.renewable,
                            issued_at=now,
                        )
                    )
                log.info("lease of %s reaches its maximum TTL: issuing a new credential", cred.username)
        return self._issue()

    def invalidate(self, username: str) -> None:
        """Forget the credential of ``username`` (PostgreSQL refused it: the lease was revoked)."""
        with self._lock:
            if self._credential is not None and self._credential.username == username:
                log.warning("database refused user %s: dropping its credential", username)
                self._credential = None

    @property
    def credential(self) -> DatabaseCredential | None:
        """The credential new connections currently get (None before the first connection)."""
        return self._credential

    def remaining_seconds(self) -> float | None:
        """Validity left on the current credential's lease, or None before the first connection."""
        cred = self._credential
        if cred is None:
            return None
        return max(0.0, self._expires_at(cred) - self.clock())


_default: CredentialManager | None = None
_default_lock = threading.Lock()


def default_manager() -> CredentialManager:
    """The process's manager over ``letsema_api.vault.get_vault()``."""
    global _default
    with _default_lock:
        if _default is None:
            from letsema_api.vault import get_vault

            _default = CredentialManager(source=get_vault())
        return _default
