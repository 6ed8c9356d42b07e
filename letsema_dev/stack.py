"""The local platform, declared: which services run, on which ports, in what order.

Each service is one entry in ``services()``. A service knows how to start, stop
and check itself; the supervisor (``letsema dev``) only walks the list. Adding a
process (a tenant API, the relay) is one ``ManagedProcess`` entry: its argv, its
environment, its port and a health check.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from letsema_dev.paths import REPO_ROOT, state_dir
from letsema_dev.platform import TenantSpec, configure_openbao, ensure_approle, prepare_postgres
from letsema_dev.procs import (
    LOOPBACK,
    PortInUse,
    pid_alive,
    port_accepts,
    port_is_free,
    read_pid,
    start_detached,
    stop_pid,
    wait_until,
)
from letsema_dev.services.ferretdb import FerretDBServer
from letsema_dev.services.openbao import OpenBaoServer
from letsema_dev.services.postgres import SUPERUSER, PostgresServer

TENANTS = [
    TenantSpec("khotso", "Khotso Microfinance"),
    TenantSpec("tsepo", "Tšepo Credit"),
]

#: name -> (environment variable, default port)
PORTS: dict[str, tuple[str, int]] = {
    "postgres-primary": ("LETSEMA_PG_PORT", 55432),
    "postgres-replica": ("LETSEMA_PG_REPLICA_PORT", 55433),
    "openbao": ("LETSEMA_OPENBAO_PORT", 58200),
    "mongodb": ("LETSEMA_MONGO_PORT", 57017),
    "api-khotso": ("LETSEMA_API_KHOTSO_PORT", 8101),
    "api-tsepo": ("LETSEMA_API_TSEPO_PORT", 8102),
}


def resolve_ports(root: Path) -> dict[str, int]:
    """Ports: the defaults, then what the first ``up`` recorded, then environment overrides."""
    saved: dict[str, int] = {}
    path = root / "ports.json"
    if path.exists():
        saved = {k: int(v) for k, v in json.loads(path.read_text()).items()}
    ports: dict[str, int] = {}
    for name, (env, default) in PORTS.items():
        ports[name] = int(os.environ.get(env) or saved.get(name) or default)
    return ports


class Service(Protocol):
    name: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def running(self) -> bool: ...
    def healthy(self) -> bool: ...
    def address(self) -> str: ...
    def log(self) -> Path | None: ...
    def port(self) -> int | None: ...


#: the database FerretDB's PostgreSQL backend keeps the registry in (LETSEMA_FERRETDB_BACKEND=postgresql)
FERRETDB_DATABASE = "ferretdb"


def pg_settings_from_env() -> dict[str, str]:
    """Extra ``postgresql.conf`` settings from ``LETSEMA_PG_SETTINGS`` (``"shared_buffers=2GB,work_mem=32MB"``),
    written on every start of both servers (the benchmark platform sizes its memory this way)."""
    raw = os.environ.get("LETSEMA_PG_SETTINGS", "").strip()
    settings: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"LETSEMA_PG_SETTINGS: {item!r} is not name=value")
        settings[name.strip()] = value.strip()
    return settings


FERRETDB_BACKENDS = ("sqlite", "postgresql")


def ferretdb_backend_file(root: Path) -> Path:
    """Where a platform records the FerretDB backend its registry was created in."""
    return root / "ferretdb" / "backend"


def ferretdb_backend(root: Path) -> str:
    """The FerretDB backend of the platform in ``root``: ``LETSEMA_FERRETDB_BACKEND`` (default ``sqlite``) when its
    registry is first started, then the one recorded in ``ferretdb/backend``. Without the record a later start
    without the variable would serve an empty registry from the other backend while the relays mark events
    published; a variable that contradicts the record is refused instead."""
    wanted = os.environ.get("LETSEMA_FERRETDB_BACKEND") or None
    if wanted is not None and wanted not in FERRETDB_BACKENDS:
        raise ValueError(f"LETSEMA_FERRETDB_BACKEND must be sqlite or postgresql, not {wanted!r}")
    record = ferretdb_backend_file(root)
    if record.exists():
        kept = record.read_text().strip()
        if wanted is not None and wanted != kept:
            raise ValueError(
                f"LETSEMA_FERRETDB_BACKEND={wanted}, but the registry of {root} lives in FerretDB's {kept} backend "
                f"({record}); unset the variable or use another state folder (LETSEMA_STATE_DIR)"
            )
        return kept
    return wanted or "sqlite"


@dataclass
class Context:
    """What services share: the state folder, the ports, and the built servers."""

    root: Path
    ports: dict[str, int]
    primary: PostgresServer
    replica: PostgresServer
    openbao: OpenBaoServer
    mongo: FerretDBServer | None
    external_mongo_url: str | None

    @classmethod
    def load(cls, root: Path | None = None) -> Context:
        root = root or state_dir()
        ports = resolve_ports(root)
        mongo_url = os.environ.get("LETSEMA_MONGO_URL") or None
        mongo: FerretDBServer | None = None
        pg_settings = pg_settings_from_env()
        primary = PostgresServer(
            base_dir=root / "pg-primary",
            port=ports["postgres-primary"],
            name="postgres-primary",
            settings=pg_settings,
        )
        if not mongo_url and not shutil.which("mongod"):
            backend = ferretdb_backend(root)
            postgresql_url = None
            if backend == "postgresql":
                # Over the primary's private socket (trusted), in a database of its own.
                postgresql_url = (
                    f"postgres://{SUPERUSER}@/{FERRETDB_DATABASE}?host={primary.socket_dir}&port={primary.port}"
                )
            mongo = FerretDBServer(base_dir=root / "ferretdb", port=ports["mongodb"], postgresql_url=postgresql_url)
        return cls(
            root=root,
            ports=ports,
            primary=primary,
            replica=PostgresServer(
                base_dir=root / "pg-replica",
                port=ports["postgres-replica"],
                name="postgres-replica",
                settings=pg_settings,
            ),
            openbao=OpenBaoServer(base_dir=root / "openbao", port=ports["openbao"]),
            mongo=mongo,
            external_mongo_url=mongo_url,
        )

    @property
    def mongo_url(self) -> str:
        if self.external_mongo_url:
            return self.external_mongo_url
        return f"mongodb://{LOOPBACK}:{self.ports['mongodb']}/"

    def save_ports(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "ports.json").write_text(json.dumps(self.ports, indent=2) + "\n")


def _check_port(port: int, name: str) -> None:
    if not port_is_free(port):
        env = PORTS.get(name, (None, 0))[0]
        raise PortInUse(port, name, env)


@dataclass
class PostgresPrimary:
    ctx: Context
    name: str = "postgres-primary"

    def start(self) -> None:
        pg = self.ctx.primary
        if not pg.is_running():
            _check_port(pg.port, self.name)
        if not pg.is_initialised:
            pg.initdb()
        pg.start()

    def stop(self) -> None:
        self.ctx.primary.stop()

    def running(self) -> bool:
        return self.ctx.primary.is_running()

    def healthy(self) -> bool:
        return self.ctx.primary.is_ready()

    def address(self) -> str:
        return f"postgresql://{LOOPBACK}:{self.ctx.primary.port}"

    def log(self) -> Path | None:
        return self.ctx.primary.log_file

    def port(self) -> int | None:
        return self.ctx.primary.port


@dataclass
class PostgresReplica:
    ctx: Context
    name: str = "postgres-replica"

    def start(self) -> None:
        rep = self.ctx.replica
        if not rep.is_running():
            _check_port(rep.port, self.name)
        if not rep.is_initialised:
            self.ctx.primary.create_replica(base_dir=rep.base_dir, port=rep.port, name=self.name)
        rep.point_standby_at(self.ctx.primary)
        rep.start()

    def stop(self) -> None:
        self.ctx.replica.stop()

    def running(self) -> bool:
        return self.ctx.replica.is_running()

    def healthy(self) -> bool:
        rep = self.ctx.replica
        if not rep.is_ready():
            return False
        in_recovery = rep.execute("SELECT pg_is_in_recovery()")[0][0]
        receiver = rep.execute("SELECT status FROM pg_stat_wal_receiver")
        return bool(in_recovery) and bool(receiver) and receiver[0][0] == "streaming"

    def address(self) -> str:
        return f"postgresql://{LOOPBACK}:{self.ctx.replica.port} (hot standby)"

    def log(self) -> Path | None:
        return self.ctx.replica.log_file

    def port(self) -> int | None:
        return self.ctx.replica.port


@dataclass
class OpenBao:
    ctx: Context
    name: str = "openbao"

    def start(self) -> None:
        bao = self.ctx.openbao
        if not bao.is_running():
            _check_port(bao.port, self.name)
            _check_port(bao.port + 1, self.name + " (cluster port)")
        bao.start()
        marker = self.ctx.root / "openbao" / "configured-for-pg-port"
        admin_password = prepare_postgres(self.ctx.primary, TENANTS)
        if admin_password is None and not marker.exists():
            raise RuntimeError(
                "PostgreSQL already has the vault_admin login but OpenBao was never given it: "
                f"the state in {self.ctx.root} is inconsistent; run 'letsema dev reset' to start over"
            )
        configure_openbao(bao.client(), self.ctx.primary, TENANTS, admin_password=admin_password)
        marker.write_text(str(self.ctx.primary.port))

    def stop(self) -> None:
        self.ctx.openbao.stop()

    def running(self) -> bool:
        return self.ctx.openbao.is_running()

    def healthy(self) -> bool:
        return self.ctx.openbao.is_healthy()

    def address(self) -> str:
        return self.ctx.openbao.url

    def log(self) -> Path | None:
        return self.ctx.openbao.log_file

    def port(self) -> int | None:
        return self.ctx.openbao.port


@dataclass
class MongoDB:
    ctx: Context
    name: str = "mongodb"

    def start(self) -> None:
        if self.ctx.mongo is not None:
            if not self.ctx.mongo.is_running():
                _check_port(self.ctx.mongo.port, self.name)
            if self.ctx.mongo.postgresql_url and not self.ctx.primary.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (FERRETDB_DATABASE,)
            ):
                self.ctx.primary.execute(f'CREATE DATABASE "{FERRETDB_DATABASE}"')
            record = ferretdb_backend_file(self.ctx.root)
            if not record.exists():
                record.parent.mkdir(parents=True, exist_ok=True)
                record.write_text(("postgresql" if self.ctx.mongo.postgresql_url else "sqlite") + "\n")
            self.ctx.mongo.start()
        elif self.ctx.external_mongo_url is None:
            # A mongod on PATH: run it with its data under the state folder.
            proc = ManagedProcess(
                ctx=self.ctx,
                name=self.name,
                port_name="mongodb",
                argv=lambda c: [
                    "mongod",
                    "--bind_ip",
                    LOOPBACK,
                    "--port",
                    str(c.ports["mongodb"]),
                    "--dbpath",
                    str(c.root / "mongod" / "data"),
                ],
                health=lambda c: port_accepts(c.ports["mongodb"]),
            )
            (self.ctx.root / "mongod" / "data").mkdir(parents=True, exist_ok=True)
            proc.start()

    def stop(self) -> None:
        if self.ctx.mongo is not None:
            self.ctx.mongo.stop()
        elif self.ctx.external_mongo_url is None:
            pid = read_pid(self.ctx.root / "mongodb.pid")
            if pid:
                stop_pid(pid)

    def running(self) -> bool:
        if self.ctx.mongo is not None:
            return self.ctx.mongo.is_running()
        return self.healthy()

    def healthy(self) -> bool:
        import pymongo

        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.ctx.mongo_url, serverSelectionTimeoutMS=1000
        )
        try:
            return bool(client.admin.command("ping").get("ok"))
        except Exception:
            return False
        finally:
            client.close()

    def address(self) -> str:
        kind = "external" if self.ctx.external_mongo_url else ("FerretDB" if self.ctx.mongo else "mongod")
        return f"{self.ctx.mongo_url} ({kind})"

    def log(self) -> Path | None:
        return self.ctx.mongo.log_file if self.ctx.mongo else None

    def port(self) -> int | None:
        return None if self.ctx.external_mongo_url else self.ctx.ports["mongodb"]


@dataclass
class ManagedProcess:
    """A long-running process of ours (tenant API, relay): one declarative entry."""

    ctx: Context
    name: str
    argv: Callable[[Context], list[str]]
    health: Callable[[Context], bool]
    port_name: str | None = None
    env: Callable[[Context], dict[str, str]] = field(default=lambda c: {})
    cwd: Path = REPO_ROOT

    @property
    def pid_file(self) -> Path:
        return self.ctx.root / f"{self.name}.pid"

    def start(self) -> None:
        if self.running():
            return
        if self.port_name:
            _check_port(self.ctx.ports[self.port_name], self.name)
        log = self.log()
        assert log is not None
        start_detached(
            self.argv(self.ctx),
            log_file=log,
            pid_file=self.pid_file,
            env={**os.environ, **self.env(self.ctx)},
            cwd=self.cwd,
        )
        wait_until(lambda: self.health(self.ctx), timeout=60, what=f"{self.name} (log: {log})")

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid is not None:
            stop_pid(pid)
        self.pid_file.unlink(missing_ok=True)

    def running(self) -> bool:
        pid = read_pid(self.pid_file)
        return pid is not None and pid_alive(pid)

    def healthy(self) -> bool:
        return self.health(self.ctx)

    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.ctx.ports[self.port_name]}" if self.port_name else "-"

    def log(self) -> Path | None:
        return self.ctx.root / "logs" / f"{self.name}.log"

    def port(self) -> int | None:
        return self.ctx.ports[self.port_name] if self.port_name else None


def tenant_env(ctx: Context, tenant: TenantSpec) -> dict[str, str]:
    """The environment of a tenant's processes: addresses and an AppRole login, no secret values."""
    role_id = ensure_approle(
        ctx.openbao.client(), tenant, secret_id_file=ctx.root / "tenants" / tenant.tenant_id / "approle-secret-id"
    )
    return {
        "LETSEMA_TENANT_ID": tenant.tenant_id,
        "LETSEMA_TENANT_NAME": tenant.display_name,
        "LETSEMA_DB_HOST": LOOPBACK,
        "LETSEMA_DB_PORT": str(ctx.primary.port),
        "LETSEMA_DB_NAME": tenant.database,
        "LETSEMA_DB_REPLICA_HOST": LOOPBACK,
        "LETSEMA_DB_REPLICA_PORT": str(ctx.replica.port),
        "VAULT_ADDR": ctx.openbao.url,
        "VAULT_APPROLE_ROLE_ID": role_id,
        "VAULT_APPROLE_SECRET_ID_FILE": str(ctx.root / "tenants" / tenant.tenant_id / "approle-secret-id"),
        "LETSEMA_MONGO_URL": ctx.mongo_url,
        "DJANGO_SETTINGS_MODULE": "letsema_api.settings",
        "PYTHONUNBUFFERED": "1",
    }


def _http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback URL we built
            return bool(resp.status == 200)
    except Exception:
        return False


@dataclass
class TenantApi(ManagedProcess):
    """A tenant's API under gunicorn; migrations run before each start (a no-op when current)."""

    tenant: TenantSpec | None = None

    def start(self) -> None:
        if self.running():
            return
        assert self.tenant is not None
        env = {**os.environ, **self.env(self.ctx)}
        log = self.log()
        assert log is not None
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "letsema_api", "migrate", "--no-input"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                timeout=600,
            )
        if done.returncode != 0:
            raise RuntimeError(f"migrations for {self.tenant.tenant_id} failed; see {log}")
        self._seed_demo(env, log)
        super().start()

    def _seed_demo(self, env: dict[str, str], log: Path) -> None:
        """Seed demo data (idempotent) and keep any new credentials in ``demo-credentials.json`` (0600)."""
        assert self.tenant is not None
        with open(log, "ab") as err:
            done = subprocess.run(
                [sys.executable, "-m", "letsema_api", "seed_demo", "--json"],
                env=env, stdout=subprocess.PIPE, stderr=err, cwd=self.cwd, timeout=600,
            )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"seed_demo for {self.tenant.tenant_id} failed; see {log}")
        lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
        created = json.loads(lines[-1]) if lines else {}
        path = self.ctx.root / "demo-credentials.json"
        all_creds: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        entry = all_creds.setdefault(
            self.tenant.tenant_id,
            {"name": self.tenant.display_name, "users": {}, "oauth_clients": {}},
        )
        entry["url"] = self.address()
        entry["token_url"] = f"{self.address()}/o/token/"
        entry["users"].update(created.get("users", {}))
        entry["oauth_clients"].update(created.get("oauth_clients", {}))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(all_creds, fh, indent=2, ensure_ascii=False)
            fh.write("\n")


def _api_argv(ctx: Context, port_name: str) -> list[str]:
    (ctx.root / "run").mkdir(parents=True, exist_ok=True)
    return [
        sys.executable, "-m", "gunicorn", "letsema_api.wsgi:application",
        "--bind", f"{LOOPBACK}:{ctx.ports[port_name]}",
        "--workers", "2", "--access-logfile", "-", "--graceful-timeout", "10",
        # One control socket per process (gunicorn's default path is shared by every instance).
        "--control-socket", str(ctx.root / "run" / f"{port_name}.ctl"),
    ]  # fmt: skip


def _api_health(ctx: Context, port_name: str) -> bool:
    return _http_ok(f"http://{LOOPBACK}:{ctx.ports[port_name]}/healthz")


def _tenant_env(tenant: TenantSpec, ctx: Context) -> dict[str, str]:
    return tenant_env(ctx, tenant)


def _relay_argv(ctx: Context) -> list[str]:
    return [sys.executable, "-m", "letsema_api", "relay_credit_events", "--no-progress"]


def _relay_health(ctx: Context, name: str) -> bool:
    pid = read_pid(ctx.root / f"{name}.pid")
    return pid is not None and pid_alive(pid)


def tenant_processes(ctx: Context) -> list[Service]:
    """Each tenant's API, then each tenant's registry relay (one entry each)."""
    procs: list[Service] = []
    for tenant in TENANTS:
        relay = f"relay-{tenant.tenant_id}"
        procs.append(
            ManagedProcess(
                ctx=ctx,
                name=relay,
                env=functools.partial(_tenant_env, tenant),
                argv=_relay_argv,
                health=functools.partial(_relay_health, name=relay),
            )
        )
    for tenant in TENANTS:
        name = f"api-{tenant.tenant_id}"
        procs.append(
            TenantApi(
                ctx=ctx,
                name=name,
                port_name=name,
                tenant=tenant,
                env=functools.partial(_tenant_env, tenant),
                argv=functools.partial(_api_argv, port_name=name),
                health=functools.partial(_api_health, port_name=name),
            )
        )
    # APIs first: their start runs the migrations the relays need.
    return procs[len(TENANTS) :] + procs[: len(TENANTS)]


def services(ctx: Context) -> list[Service]:
    """Every service of the local platform, in start order (stopped in reverse)."""
    return [
        PostgresPrimary(ctx),
        PostgresReplica(ctx),
        OpenBao(ctx),
        MongoDB(ctx),
        *tenant_processes(ctx),
    ]
