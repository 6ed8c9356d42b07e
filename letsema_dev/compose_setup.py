"""One-shot set-up for the Docker Compose stack: initialise and unseal OpenBao, then
configure PostgreSQL and OpenBao for the tenants exactly as ``letsema dev up`` does.

Reads the PostgreSQL superuser password from a Compose secret file
(``PG_SUPERUSER_PASSWORD_FILE``), never from the environment. Unseal material is kept
in the ``openbao-init`` volume (development only), and each tenant gets a periodic
token limited to its own policy in ``tokens/<tenant>`` there — a stand-in for the
Kubernetes auth that tenants use on a cluster.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letsema_dev.platform import TenantSpec, configure_openbao, prepare_postgres
from letsema_dev.procs import wait_until

INIT_FILE = Path("/var/lib/letsema/openbao-init.json")
API_UID = 10001  # the API image's user


@dataclass
class TcpAdmin:
    host: str
    port: int
    password: str

    def execute(self, sql: Any, params: Any = None, *, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        import psycopg

        with (
            psycopg.connect(
                host=self.host, port=self.port, dbname=dbname, user="postgres", password=self.password, autocommit=True
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(sql, params)
            return list(cur.fetchall()) if cur.description else []


def _tenants(spec: str) -> list[TenantSpec]:
    out = []
    for item in spec.split(","):
        tenant_id, _, name = item.partition(":")
        out.append(TenantSpec(tenant_id.strip(), name.strip() or tenant_id.strip()))
    return out


def main() -> int:
    import hvac

    addr = os.environ["OPENBAO_ADDR"]
    client = hvac.Client(url=addr)
    wait_until(lambda: bool(client.sys.read_health_status(method="GET")), timeout=120, what="OpenBao")
    if not client.sys.is_initialized():
        init = client.sys.initialize(secret_shares=1, secret_threshold=1)
        INIT_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(INIT_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"unseal_key": init["keys_b64"][0], "root_token": init["root_token"]}, fh)
    material = json.loads(INIT_FILE.read_text())
    if client.sys.is_sealed():
        client.sys.submit_unseal_key(material["unseal_key"])
    client.token = material["root_token"]
    wait_until(lambda: client.sys.read_leader_status()["is_self"], timeout=60, what="OpenBao leadership")
    pg = TcpAdmin(
        host=os.environ.get("PG_HOST", "postgres-primary"),
        port=int(os.environ.get("PG_PORT", "5432")),
        password=Path(os.environ["PG_SUPERUSER_PASSWORD_FILE"]).read_text().strip(),
    )
    tenants = _tenants(os.environ.get("LETSEMA_TENANTS", "khotso:Khotso Microfinance"))
    password = prepare_postgres(pg, tenants)
    configure_openbao(client, pg, tenants, admin_password=password)
    tokens = INIT_FILE.parent / "tokens"
    tokens.mkdir(exist_ok=True)
    for t in tenants:
        path = tokens / t.tenant_id
        if not path.exists():
            token = client.auth.token.create(policies=[t.policy], period="24h", renewable=True)["auth"]["client_token"]
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(token)
            os.chown(path, API_UID, API_UID)
    print("OpenBao and PostgreSQL configured for", ", ".join(t.tenant_id for t in tenants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
