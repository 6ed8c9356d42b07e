"""What the local platform configures in OpenBao and PostgreSQL for each tenant.

Idempotent: every step checks before it writes, so ``letsema dev up`` and the
test fixtures can run it on every start.

Per tenant ``t``:
- PostgreSQL: database ``letsema_t`` owned by the NOLOGIN group role ``t_owner``.
  Dynamic users from OpenBao are members of ``t_owner`` and the API runs
  ``SET ROLE t_owner`` (Django's ``assume_role``), so tables never belong to a
  short-lived user.
- OpenBao database engine: role ``t-app`` issuing those users (TTL 1 h, max 24 h);
  revoking a lease ends the user's sessions and drops it.
- Transit: ``pii-t`` (AES-256-GCM) for PII; the platform-wide ``nid-hmac`` key for
  ``borrower_key`` (HMAC), shared by every tenant so keys match across MFIs.
- KV v2 at ``secret/``: ``letsema/t/django`` (SECRET_KEY) and ``letsema/t/webhooks``
  (the M-Pesa callback signing key), generated here, stored nowhere else.
- A policy ``letsema-t`` limited to the above.

The engine's admin login ``vault_admin`` gets a random password that is handed to
OpenBao and then rotated by OpenBao (``rotate-root``), once: afterwards only
OpenBao knows it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class AdminConnection(Protocol):
    """What configuration needs of a PostgreSQL server: an address and a superuser's SQL."""

    host: str
    port: int

    def execute(self, sql: Any, params: Any = None, *, dbname: str = "postgres") -> list[tuple[Any, ...]]: ...


DB_CONNECTION = "letsema-pg"
HMAC_KEY = "nid-hmac"
KV_MOUNT = "secret"
VAULT_ADMIN = "vault_admin"


@dataclass(frozen=True)
class TenantSpec:
    tenant_id: str
    display_name: str

    @property
    def database(self) -> str:
        return f"letsema_{self.tenant_id}"

    @property
    def owner_role(self) -> str:
        return f"{self.tenant_id}_owner"

    @property
    def db_role(self) -> str:
        return f"{self.tenant_id}-app"

    @property
    def transit_key(self) -> str:
        return f"pii-{self.tenant_id}"

    @property
    def policy(self) -> str:
        return f"letsema-{self.tenant_id}"

    def kv_path(self, name: str) -> str:
        return f"letsema/{self.tenant_id}/{name}"


def _ident(name: str) -> str:
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"unsafe SQL identifier: {name!r}")
    return '"' + name + '"'


def prepare_postgres(pg: AdminConnection, tenants: Iterable[TenantSpec]) -> str | None:
    """Create the admin login, group roles and databases. Returns a fresh admin password
    only when the admin login was created now (OpenBao must then be given it and rotate it)."""
    password: str | None = None
    if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (VAULT_ADMIN,)):
        password = secrets.token_urlsafe(24)
        from psycopg import sql

        pg.execute(
            sql.SQL("CREATE ROLE {} WITH LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(VAULT_ADMIN), sql.Literal(password)
            )
        )
        pg.execute(f"GRANT pg_signal_backend TO {_ident(VAULT_ADMIN)}")
    for t in tenants:
        owner = _ident(t.owner_role)
        if not pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (t.owner_role,)):
            pg.execute(f"CREATE ROLE {owner} NOLOGIN")
        pg.execute(f"GRANT {owner} TO {_ident(VAULT_ADMIN)} WITH ADMIN OPTION")
        if not pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", (t.database,)):
            pg.execute(f"CREATE DATABASE {_ident(t.database)} OWNER {owner}")
        pg.execute(f"REVOKE ALL ON DATABASE {_ident(t.database)} FROM PUBLIC")
        pg.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(t.database)} TO {owner}")
        pg.execute(f"ALTER SCHEMA public OWNER TO {owner}", dbname=t.database)
    return password


def _mounts(client: Any) -> dict[str, Any]:
    return dict(client.sys.list_mounted_secrets_engines()["data"])


def enable_engines(client: Any) -> None:
    mounts = _mounts(client)
    if "database/" not in mounts:
        client.sys.enable_secrets_engine("database", path="database")
    if "transit/" not in mounts:
        client.sys.enable_secrets_engine("transit", path="transit")
    kv = mounts.get(f"{KV_MOUNT}/")
    if kv is None:
        client.sys.enable_secrets_engine("kv", path=KV_MOUNT, options={"version": "2"})


def _transit_key(client: Any, name: str) -> None:
    try:
        client.secrets.transit.read_key(name=name)
    except Exception:
        client.secrets.transit.create_key(name=name, key_type="aes256-gcm96")


def _kv_ensure(client: Any, path: str, factory: dict[str, str]) -> None:
    try:
        client.secrets.kv.v2.read_secret_version(path=path, mount_point=KV_MOUNT, raise_on_deleted_version=True)
    except Exception:
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=factory, mount_point=KV_MOUNT)


def policy_hcl(t: TenantSpec) -> str:
    return f"""# Letsema tenant {t.tenant_id}: only its own credentials, keys and secrets.
path "database/creds/{t.db_role}" {{ capabilities = ["read"] }}
path "sys/leases/renew" {{ capabilities = ["update"] }}
path "transit/encrypt/{t.transit_key}" {{ capabilities = ["update"] }}
path "transit/decrypt/{t.transit_key}" {{ capabilities = ["update"] }}
path "transit/hmac/{HMAC_KEY}" {{ capabilities = ["update"] }}
path "{KV_MOUNT}/data/letsema/{t.tenant_id}/*" {{ capabilities = ["read"] }}
"""


def configure_openbao(
    client: Any, pg: AdminConnection, tenants: list[TenantSpec], *, admin_password: str | None
) -> None:
    """Enable and configure the engines for ``tenants`` against ``pg``. Idempotent."""
    enable_engines(client)
    roles = [t.db_role for t in tenants]
    if admin_password is not None:
        client.secrets.database.configure(
            name=DB_CONNECTION,
            plugin_name="postgresql-database-plugin",
            connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:{pg.port}/postgres?sslmode=disable",
            username=VAULT_ADMIN,
            password=admin_password,
            allowed_roles=roles,
            verify_connection=True,
        )
        # From here on only OpenBao knows the admin password.
        client.secrets.database.rotate_root_credentials(name=DB_CONNECTION)
    else:
        current = client.secrets.database.read_connection(name=DB_CONNECTION)["data"]
        cfg = current["connection_details"]
        url = cfg["connection_url"]
        want = f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.host}:{pg.port}/postgres?sslmode=disable"
        if sorted(current.get("allowed_roles") or []) != sorted(roles) or url != want:
            # Updating a connection without a password keeps the rotated one.
            client.write(
                f"database/config/{DB_CONNECTION}",
                plugin_name="postgresql-database-plugin",
                connection_url=want,
                username=VAULT_ADMIN,
                allowed_roles=roles,
                verify_connection=False,
            )
    for t in tenants:
        client.secrets.database.create_role(
            name=t.db_role,
            db_name=DB_CONNECTION,
            creation_statements=[
                f"CREATE ROLE \"{{{{name}}}}\" WITH LOGIN PASSWORD '{{{{password}}}}' "
                f"VALID UNTIL '{{{{expiration}}}}' IN ROLE {_ident(t.owner_role)};"
            ],
            revocation_statements=[
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{{name}}';",
                'DROP ROLE IF EXISTS "{{name}}";',
            ],
            default_ttl="1h",
            max_ttl="24h",
        )
        _transit_key(client, t.transit_key)
        _kv_ensure(client, t.kv_path("django"), {"secret_key": secrets.token_urlsafe(50)})
        _kv_ensure(client, t.kv_path("webhooks"), {"mpesa_signing_key": secrets.token_urlsafe(32)})
        client.sys.create_or_update_policy(name=t.policy, policy=policy_hcl(t))
    _transit_key(client, HMAC_KEY)


APPROLE_MOUNT = "approle"


def ensure_approle(client: Any, tenant: TenantSpec, *, secret_id_file: Any) -> str:
    """An AppRole login for a tenant's processes, limited to the tenant's policy.

    Returns the role id (not secret); the secret id is written once to ``secret_id_file``
    (mode 0600) and reused on later starts. This is the local stand-in for the
    Kubernetes auth role that pods use on a cluster.
    """
    import os
    from pathlib import Path

    auth = client.sys.list_auth_methods()
    methods = auth.get("data", auth)
    if f"{APPROLE_MOUNT}/" not in methods:
        client.sys.enable_auth_method("approle", path=APPROLE_MOUNT)
    role = tenant.policy
    client.auth.approle.create_or_update_approle(
        role_name=role,
        token_policies=[tenant.policy],
        token_ttl="1h",  # noqa: S106 - a duration
        token_max_ttl="24h",  # noqa: S106 - a duration
        secret_id_num_uses=0,
        mount_point=APPROLE_MOUNT,
    )
    role_id = str(client.auth.approle.read_role_id(role_name=role, mount_point=APPROLE_MOUNT)["data"]["role_id"])
    path = Path(secret_id_file)
    if not path.exists():
        secret_id = client.auth.approle.generate_secret_id(role_name=role, mount_point=APPROLE_MOUNT)["data"][
            "secret_id"
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secret_id)
    return role_id
