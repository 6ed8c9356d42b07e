"""Django's PostgreSQL backend with a Vault-issued login for every new connection.

Settings (``DATABASES[alias]``): ``ENGINE = "letsema_api.db"``, no USER/PASSWORD,
``OPTIONS["assume_role"]`` = the tenant's group role so objects belong to it and
not to the short-lived user. Optionally ``CREDENTIALS``: a ``CredentialManager``
(tests); by default the process-wide one over Vault.

Never combine with ``OPTIONS["pool"]``: Django builds that pool once with the
credentials of the moment, so renewed or replaced logins would never be used.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base

from letsema_api.db.credentials import CredentialManager, default_manager

# A user just created on the primary reaches a streaming replica a moment later.
_STANDBY_RETRY_DELAYS = (0.1, 0.3, 0.6)


def is_auth_failure(exc: BaseException) -> bool:
    text = str(exc)
    return "password authentication failed" in text or getattr(exc, "sqlstate", None) in {"28P01", "28000"}


class DatabaseWrapper(base.DatabaseWrapper):  # type: ignore[misc]
    def __init__(self, settings_dict: dict[str, Any], alias: str = "default") -> None:
        if settings_dict.get("OPTIONS", {}).get("pool"):
            raise ImproperlyConfigured("letsema_api.db refuses OPTIONS['pool']: it would freeze Vault credentials")
        super().__init__(settings_dict, alias)

    @property
    def credentials(self) -> CredentialManager:
        manager = self.settings_dict.get("CREDENTIALS")
        return manager if isinstance(manager, CredentialManager) else default_manager()

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        cred = self.credentials.current()
        params["user"] = cred.username
        params["password"] = cred.password
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        try:
            return super().get_new_connection(conn_params)
        except self.Database.OperationalError as exc:
            if not is_auth_failure(exc):
                raise
            first_error = exc
        # Either the lease was revoked (PostgreSQL dropped the user) or the user has not reached
        # this standby yet. Try the same user briefly, then a freshly issued one.
        user = conn_params["user"]
        if self.settings_dict.get("STANDBY"):
            for delay in _STANDBY_RETRY_DELAYS:
                time.sleep(delay)
                try:
                    return super().get_new_connection(conn_params)
                except self.Database.OperationalError as exc:
                    if not is_auth_failure(exc):
                        raise
        self.credentials.invalidate(user)
        cred = self.credentials.current()
        if cred.username == user:
            raise first_error
        retry = {**conn_params, "user": cred.username, "password": cred.password}
        delays = (0.0, *_STANDBY_RETRY_DELAYS) if self.settings_dict.get("STANDBY") else (0.0,)
        for i, delay in enumerate(delays):
            time.sleep(delay)
            try:
                return super().get_new_connection(retry)
            except self.Database.OperationalError as exc:
                if not is_auth_failure(exc) or i == len(delays) - 1:
                    raise
        raise first_error  # pragma: no cover - the loop always returns or raises
