"""Start-up of a tenant process: configuration and the secrets it cannot run without.

Entry points (``manage.py``, ``wsgi.py``, ``asgi.py``) call ``start()`` before Django loads:
a missing variable or an unreachable Vault ends the process with ONE line naming the
variable or ``VAULT_ADDR`` and the error (exit status 2), not a traceback.
"""

from __future__ import annotations

import os
import sys
import threading

from letsema_api.config import StartupError, TenantConfig

EXIT_STARTUP = 2

_secret_key: str | None = None
_lock = threading.Lock()


def secret_key(config: TenantConfig) -> str:
    """Django's SECRET_KEY from KV v2 (``<prefix>/django``, key ``secret_key``), read once per process.

    Raises ``StartupError`` when Vault is unreachable or refuses."""
    global _secret_key
    from letsema_api.vault import VaultError, configure_vault

    with _lock:
        if _secret_key is None:
            vault = configure_vault(config)
            try:
                value = vault.kv("django").get("secret_key", "")
            except VaultError as exc:
                raise StartupError(
                    f"tenant {config.tenant_id} cannot start: Vault at VAULT_ADDR={config.vault_addr} {exc.reason}"
                ) from None
            if len(value) < 32:
                raise StartupError(
                    f"tenant {config.tenant_id} cannot start: {config.vault_kv_mount}/{config.vault_kv_prefix}/django "
                    "has no secret_key of at least 32 characters"
                )
            _secret_key = value
        return _secret_key


def start() -> None:
    """Load settings now; on a ``StartupError`` print one line to stderr and exit with status 2."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "letsema_api.settings")
    from django.conf import settings

    try:
        settings.SECRET_KEY  # noqa: B018 - importing the settings is the point
    except StartupError as exc:
        print(f"letsema: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_STARTUP) from None
