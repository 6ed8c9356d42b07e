"""What a load generator needs to know about a running platform, read once at start-up.

The credentials file is the one ``letsema dev up`` writes (``.letsema/demo-credentials.json``). The
M-Pesa signing key of each tenant is read from Vault KV (``secret/letsema/<tenant>/webhooks``,
field ``mpesa_signing_key``) with the dev root token of ``<state>/openbao/init.json`` — dev only.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

DEFAULT_CREDENTIALS = ".letsema/demo-credentials.json"
DEFAULT_OPENBAO_PORT = 58200


@dataclass
class Tenant:
    tenant_id: str
    url: str
    token_url: str
    users: dict[str, dict[str, str]]
    staff_client: dict[str, str]
    gateway_client: dict[str, str]
    signing_key: bytes | None = None
    #: applications an officer assessed in this process, waiting for a manager
    assessed: deque[str] = field(default_factory=lambda: deque(maxlen=500))
    #: active loans disbursed in this process (the gateway may not list loans: it has no read scope)
    loans: list[str] = field(default_factory=list)
    #: national IDs onboarded here in this process (the cross-MFI inquirer registers them elsewhere)
    national_ids: deque[str] = field(default_factory=lambda: deque(maxlen=500))

    def api(self, path: str) -> str:
        return f"{self.url}{path}"

    def random_loan(self) -> str | None:
        return random.choice(self.loans) if self.loans else None


def load_tenants(credentials: Path, only: list[str] | None = None) -> dict[str, Tenant]:
    """The tenants of ``credentials`` (all, or those in ``only``), with their signing keys when readable."""
    data: dict[str, Any] = json.loads(credentials.read_text())
    tenants: dict[str, Tenant] = {}
    for tenant_id, info in data.items():
        if only and tenant_id not in only:
            continue
        clients = info["oauth_clients"]
        tenants[tenant_id] = Tenant(
            tenant_id=tenant_id,
            url=info["url"].rstrip("/"),
            token_url=info["token_url"],
            users=info["users"],
            staff_client=clients["letsema-staff-app"],
            gateway_client=clients["mpesa-gateway"],
        )
    vault = _vault(credentials.parent)
    for tenant in tenants.values():
        tenant.signing_key = _signing_key(tenant.tenant_id, vault)
    return tenants


def _vault(state_dir: Path) -> tuple[str, str] | None:
    """(address, root token) of the dev OpenBao next to the credentials file, if there is one."""
    init = state_dir / "openbao" / "init.json"
    if not init.exists():
        return None
    port = os.environ.get("LETSEMA_OPENBAO_PORT")
    ports_file = state_dir / "ports.json"
    if not port and ports_file.exists():
        port = str(json.loads(ports_file.read_text()).get("openbao", ""))
    addr = os.environ.get("VAULT_ADDR") or f"http://127.0.0.1:{port or DEFAULT_OPENBAO_PORT}"
    return addr, str(json.loads(init.read_text())["root_token"])


def _signing_key(tenant_id: str, vault: tuple[str, str] | None) -> bytes | None:
    override = os.environ.get(f"LETSEMA_MPESA_SIGNING_KEY_{tenant_id.upper()}")
    if override:
        return override.encode("utf-8")
    if vault is None:
        return None
    addr, token = vault
    resp = requests.get(
        f"{addr}/v1/secret/data/letsema/{tenant_id}/webhooks", headers={"X-Vault-Token": token}, timeout=10
    )
    if resp.status_code != 200:
        return None
    return str(resp.json()["data"]["data"]["mpesa_signing_key"]).encode("utf-8")
