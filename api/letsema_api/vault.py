"""Vault / OpenBao for the tenant API, through hvac: DB credentials, Transit, KV v2.

The client is built on first use, never at import time, and logs in with the
method the configuration names (token, Kubernetes or AppRole). Errors come out
as two kinds: ``VaultUnavailable`` (cannot reach it, sealed, 5xx: keep serving on
what we have) and ``VaultRefused`` (it answered no: bad token, policy, unknown lease).
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from letsema_api.config import TenantConfig, VaultAuth

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ciphertexts per Transit ``batch_input`` request (OpenBao refuses batches much beyond ~200 items)
TRANSIT_BATCH_SIZE = 100


class VaultError(Exception):
    """Base of the Vault adapter's errors. ``addr`` is the Vault address involved."""

    def __init__(self, message: str, *, addr: str, reason: str = "") -> None:
        super().__init__(message)
        self.addr = addr
        self.reason = reason or message


class VaultUnavailable(VaultError):
    """Vault could not be reached, is sealed or answered with a server error."""


class VaultRefused(VaultError):
    """Vault answered but refused: login failed, the policy forbids it, or the lease/path is unknown."""


@dataclass(frozen=True)
class DatabaseCredential:
    """A dynamic PostgreSQL login from the database secrets engine.

    ``issued_at`` is a ``time.monotonic()`` reading; ``lease_duration_seconds`` counts from it.
    """

    username: str
    password: str = field(repr=False)
    lease_id: str
    lease_duration_seconds: int
    renewable: bool
    issued_at: float


@dataclass(frozen=True)
class LeaseRenewal:
    lease_id: str
    lease_duration_seconds: int
    renewable: bool


def _tls_verify() -> bool | str:
    """What Vault's TLS certificate is checked against, as hvac and requests would find it in the
    environment: ``VAULT_CACERT`` / ``VAULT_CAPATH``, else ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``,
    else the default trust store."""
    for name in ("VAULT_CACERT", "VAULT_CAPATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return os.environ[name]
    return True


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class VaultSecrets:
    """The tenant's view of Vault. Thread-safe; one instance per process (see ``get_vault``)."""

    def __init__(
        self,
        *,
        addr: str,
        auth: VaultAuth,
        db_role: str,
        transit_key: str,
        hmac_key: str,
        kv_mount: str,
        kv_prefix: str,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.addr = addr
        self.auth = auth
        self.db_role = db_role
        self.transit_key = transit_key
        self.hmac_key = hmac_key
        self.kv_mount = kv_mount
        self.kv_prefix = kv_prefix
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self._client: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: TenantConfig) -> VaultSecrets:
        return cls(
            addr=config.vault_addr,
            auth=config.vault_auth,
            db_role=config.vault_db_role,
            transit_key=config.vault_transit_key,
            hmac_key=config.vault_hmac_key,
            kv_mount=config.vault_kv_mount,
            kv_prefix=config.vault_kv_prefix,
            timeout_seconds=config.vault_timeout_seconds,
        )

    # -- login -------------------------------------------------------------------------------
    def _new_client(self) -> Any:
        import hvac

        client = hvac.Client(url=self.addr, timeout=self.timeout_seconds, verify=_tls_verify())
        if not urllib.request.getproxies():
            # No proxy in the environment: stop requests from looking it up again on every call (os.environ
            # scanned for proxies and CA bundles, ~1 ms of each Transit decrypt). The CA bundle variables
            # were read once by ``_tls_verify``.
            client.session.trust_env = False
        auth = self.auth
        if auth.method == "token":
            token = auth.token
            if auth.token_file:
                try:
                    token = Path(auth.token_file).read_text().strip()
                except OSError as exc:
                    reason = f"cannot be logged in to: VAULT_TOKEN_FILE {auth.token_file} is unreadable ({exc})"
                    raise VaultRefused(f"Vault at {self.addr} {reason}", addr=self.addr, reason=reason) from exc
            client.token = token
        elif auth.method == "kubernetes":
            jwt = Path(auth.kubernetes_jwt_path).read_text().strip()
            client.auth.kubernetes.login(role=auth.kubernetes_role, jwt=jwt, mount_point=auth.kubernetes_mount)
        else:
            secret_id = auth.approle_secret_id
            if auth.approle_secret_id_file:
                secret_id = Path(auth.approle_secret_id_file).read_text().strip()
            client.auth.approle.login(role_id=auth.approle_role_id, secret_id=secret_id, mount_point=auth.approle_mount)
        return client

    def _get_client(self, *, fresh: bool = False) -> Any:
        with self._lock:
            if self._client is None or fresh:
                self._client = self._call_raw("log in", self._new_client)
            return self._client

    def _call_raw(self, what: str, fn: Callable[[], T]) -> T:
        import hvac.exceptions as hx
        import requests

        try:
            return fn()
        except (requests.exceptions.RequestException, hx.VaultDown, hx.InternalServerError, hx.BadGateway) as exc:
            reason = f"is unavailable ({what}): {exc}"
            raise VaultUnavailable(f"Vault at {self.addr} {reason}", addr=self.addr, reason=reason) from exc
        except (hx.VaultError, OSError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            reason = f"refused to {what}: {text}"
            raise VaultRefused(f"Vault at {self.addr} {reason}", addr=self.addr, reason=reason) from exc

    def _call(self, what: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)``; when a machine login (Kubernetes/AppRole) has expired, log in again once."""
        import hvac.exceptions as hx

        client = self._get_client()
        try:
            return self._call_raw(what, lambda: fn(client))
        except VaultRefused as exc:
            if self.auth.method == "token" or not isinstance(exc.__cause__, (hx.Forbidden, hx.Unauthorized)):
                raise
        client = self._get_client(fresh=True)
        return self._call_raw(what, lambda: fn(client))

    # -- health ------------------------------------------------------------------------------
    def check(self) -> None:
        """Vault answers, is unsealed and our token is valid. Raises ``VaultUnavailable``/``VaultRefused``."""
        self._call("look up its own token", lambda c: c.auth.token.lookup_self())

    # -- database engine ---------------------------------------------------------------------
    def database_credentials(self) -> DatabaseCredential:
        """A new dynamic PostgreSQL login for this tenant's role (``VAULT_DB_ROLE``)."""
        issued = self.clock()
        resp = self._call(
            f"issue database credentials for role {self.db_role}",
            lambda c: c.secrets.database.generate_credentials(name=self.db_role),
        )
        return self._credential(resp, issued)

    def issue_credentials(self, path: str) -> DatabaseCredential:
        """A new dynamic login from any ``<database mount>/creds/<role>`` path (the registry's users)."""
        issued = self.clock()
        resp = self._call(f"issue credentials from {path}", lambda c: c.read(path))
        if not resp or "data" not in resp:
            reason = f"returned no credentials from {path}"
            raise VaultRefused(f"Vault at {self.addr} {reason}", addr=self.addr, reason=reason)
        return self._credential(resp, issued)

    @staticmethod
    def _credential(resp: dict[str, Any], issued: float) -> DatabaseCredential:
        return DatabaseCredential(
            username=resp["data"]["username"],
            password=resp["data"]["password"],
            lease_id=resp["lease_id"],
            lease_duration_seconds=int(resp["lease_duration"]),
            renewable=bool(resp.get("renewable", False)),
            issued_at=issued,
        )

    def renew_lease(self, lease_id: str, *, increment_seconds: int | None = None) -> LeaseRenewal:
        """Extend a lease. Raises ``VaultRefused`` when the lease is unknown (revoked/expired)."""
        resp = self._call("renew a lease", lambda c: c.sys.renew_lease(lease_id=lease_id, increment=increment_seconds))
        return LeaseRenewal(
            lease_id=resp["lease_id"],
            lease_duration_seconds=int(resp["lease_duration"]),
            renewable=bool(resp.get("renewable", False)),
        )

    # -- Transit -----------------------------------------------------------------------------
    def encrypt_pii(self, text: str) -> str:
        """Transit ciphertext (``vault:vN:...``) of ``text`` under the tenant's PII key."""
        resp = self._call(
            "encrypt", lambda c: c.secrets.transit.encrypt_data(name=self.transit_key, plaintext=_b64(text))
        )
        return str(resp["data"]["ciphertext"])

    def decrypt_pii(self, ciphertext: str) -> str:
        """The plain text of a ciphertext made by ``encrypt_pii`` (any key version still kept)."""
        resp = self._call(
            "decrypt", lambda c: c.secrets.transit.decrypt_data(name=self.transit_key, ciphertext=ciphertext)
        )
        return base64.b64decode(resp["data"]["plaintext"]).decode("utf-8")

    def decrypt_pii_many(self, ciphertexts: Sequence[str]) -> list[str]:
        """The plain texts of many ``encrypt_pii`` ciphertexts, in order, with one Transit call per
        ``TRANSIT_BATCH_SIZE`` of them (``batch_input``) instead of one each. Raises ``VaultRefused`` naming
        the first item Transit refused."""
        plaintexts: list[str] = []
        for start in range(0, len(ciphertexts), TRANSIT_BATCH_SIZE):
            chunk = ciphertexts[start : start + TRANSIT_BATCH_SIZE]
            resp = self._call("decrypt a batch", self._batch_decrypt([{"ciphertext": text} for text in chunk]))
            for item in resp["data"]["batch_results"]:
                if item.get("error"):
                    reason = f"refused to decrypt: {item['error']}"
                    raise VaultRefused(f"Vault at {self.addr} {reason}", addr=self.addr, reason=reason)
                plaintexts.append(base64.b64decode(item["plaintext"]).decode("utf-8"))
        return plaintexts

    def _batch_decrypt(self, batch: list[dict[str, str]]) -> Callable[[Any], Any]:
        return lambda c: c.secrets.transit.decrypt_data(name=self.transit_key, batch_input=batch)

    def keyed_hasher(self, key_name: str | None = None) -> TransitKeyedHasher:
        """The core's ``KeyedHasher`` port over Transit HMAC (the platform key unless named)."""
        return TransitKeyedHasher(self, key_name or self.hmac_key)

    def borrower_key(self, normalised_id: str) -> str:
        """Transit HMAC of a normalised identifier (``"LS:NID:<12 digits>"``) under the platform key."""
        return self.keyed_hasher().digest(normalised_id)

    def hmac(self, key_name: str, message: str) -> str:
        resp = self._call(
            "compute an HMAC",
            lambda c: c.secrets.transit.generate_hmac(name=key_name, hash_input=_b64(message), algorithm="sha2-256"),
        )
        return str(resp["data"]["hmac"])

    # -- KV v2 -------------------------------------------------------------------------------
    def kv(self, name: str) -> dict[str, str]:
        """The latest version of the KV v2 secret ``<prefix>/<name>`` (e.g. ``django``, ``webhooks``)."""
        path = f"{self.kv_prefix}/{name}"
        resp = self._call(
            f"read secret {self.kv_mount}/{path}",
            lambda c: c.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.kv_mount, raise_on_deleted_version=True
            ),
        )
        return {str(k): str(v) for k, v in resp["data"]["data"].items()}


class TransitKeyedHasher:
    """``letsema_core.credit.KeyedHasher`` implemented with Transit HMAC under one named key."""

    def __init__(self, secrets: VaultSecrets, key_name: str) -> None:
        self._secrets = secrets
        self.key_name = key_name

    def digest(self, message: str) -> str:
        return self._secrets.hmac(self.key_name, message)


_vault: VaultSecrets | None = None
_vault_lock = threading.Lock()


def configure_vault(config: TenantConfig) -> VaultSecrets:
    """The process's ``VaultSecrets`` for ``config`` (built once; no network until first used)."""
    global _vault
    with _vault_lock:
        if _vault is None:
            _vault = VaultSecrets.from_config(config)
        return _vault


def get_vault() -> VaultSecrets:
    """The process's ``VaultSecrets``, built on first use from ``settings.LETSEMA``."""
    from django.conf import settings

    return configure_vault(settings.LETSEMA)
