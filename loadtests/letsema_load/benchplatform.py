"""The benchmark platform: the local platform of ``letsema dev`` in its own state folder and on its own ports.

``make generate``, ``make bench`` and the data generator all use it, so a national-scale dataset never lands
in the demo platform of ``make run`` (``.letsema/``) and both can run side by side. It is the same supervisor
and the same processes; only the state folder (``.letsema-bench/``), the ports and PostgreSQL's memory settings
differ (a 1 000 000-loan tenant wants more than PostgreSQL's 128 MB default of shared buffers), and FerretDB keeps
the registry in PostgreSQL (see ``bench_env``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = ROOT / ".letsema-bench"

#: ports of the benchmark platform (the demo platform uses 55432, 58200, 57017, 8101, ...)
PORTS = {
    "LETSEMA_PG_PORT": 56432,
    "LETSEMA_PG_REPLICA_PORT": 56433,
    "LETSEMA_OPENBAO_PORT": 59200,
    "LETSEMA_MONGO_PORT": 58017,
    "LETSEMA_API_KHOTSO_PORT": 8201,
    "LETSEMA_API_TSEPO_PORT": 8202,
}

#: sized for this 24 GiB machine and tables of a few GB; written to both servers on every start
PG_SETTINGS = ",".join(
    (
        "shared_buffers=2GB",
        "effective_cache_size=8GB",
        "work_mem=32MB",
        "maintenance_work_mem=512MB",
        "max_wal_size=8GB",
        "checkpoint_timeout=15min",
        "wal_compression=on",
    )
)


def bench_env(state_dir: Path | None = None) -> dict[str, str]:
    """The environment of every process that talks to the benchmark platform."""
    env = {
        **os.environ,
        "LETSEMA_STATE_DIR": str(state_dir or STATE_DIR),
        "LETSEMA_PG_SETTINGS": PG_SETTINGS,
        # FerretDB on PostgreSQL: string equality filters are pushed down to SQL and use real indexes (its
        # SQLite backend pushes down only ``_id`` equality: every borrower lookup would scan 3M documents).
        "LETSEMA_FERRETDB_BACKEND": "postgresql",
    }
    env.update({name: str(port) for name, port in PORTS.items()})
    env.pop("LETSEMA_MONGO_URL", None)
    return env


def letsema(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``letsema <args>`` against the benchmark platform (output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "letsema_dev.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ensure_up(env: dict[str, str]) -> None:
    """Start the benchmark platform (a no-op for what already runs); raise with its output when it fails."""
    done = letsema(env, "dev", "up")
    if done.returncode != 0:
        raise RuntimeError(f"letsema dev up failed (state {env['LETSEMA_STATE_DIR']}):\n{done.stdout}\n{done.stderr}")


@contextmanager
def tenant_django(tenant_id: str, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """This process configured as tenant ``tenant_id``'s API (the environment ``letsema dev`` gives its
    gunicorn), with Django set up; yields the platform facts a loader needs (ports, Vault address and the
    dev root token, MongoDB URL). Call once per process."""
    os.environ.update(env)
    from letsema_dev.stack import TENANTS, Context, tenant_env

    ctx = Context.load(Path(env["LETSEMA_STATE_DIR"]))
    spec = next((t for t in TENANTS if t.tenant_id == tenant_id), None)
    if spec is None:
        raise SystemExit(
            f"unknown tenant {tenant_id!r}: the local platform has {', '.join(t.tenant_id for t in TENANTS)}"
        )
    os.environ.update(tenant_env(ctx, spec))
    api = str(ROOT / "api")
    if api not in sys.path:
        sys.path.insert(0, api)
    import django

    django.setup()
    init = json.loads((ctx.root / "openbao" / "init.json").read_text())
    yield {
        "ctx": ctx,
        "spec": spec,
        "vault_addr": f"http://127.0.0.1:{ctx.ports['openbao']}",
        "root_token": init["root_token"],
        "mongo_url": ctx.mongo_url,
    }


def ferretdb_pushdown_indexes(env: dict[str, str]) -> list[str]:
    """GIN indexes that serve the filters FerretDB's PostgreSQL backend actually sends.

    FerretDB 1.24 turns ``{"borrower_key": "<key>"}`` into ``(_jsonb -> 'borrower_key') @> '"<key>"'`` and builds
    each MongoDB index as a btree over ``(_jsonb -> field)`` expressions, which cannot serve ``@>``: without these,
    every credit-file lookup is a sequential scan of the collection. This is an artefact of the local substitute
    (a real MongoDB answers from the registry's compound index ``borrower_accounts``), so it lives here, beside the
    benchmark platform, and docs/performance.md says so. Idempotent; returns the statements it ran.

    The indexes are built with ``fastupdate = off`` (and existing ones switched to it, their pending list merged):
    with GIN's default fast update, every registry write lands in an unsorted pending list (up to 4 MB) that every
    lookup scans in full until a vacuum merges it. Measured under the relay's steady writes: one account lookup
    took 173 ms (two index scans of ~260 pending-list pages each), 2 ms once the list was merged; the relay does
    three such lookups per event.
    """
    from letsema_dev.stack import FERRETDB_DATABASE, Context

    ctx = Context.load(Path(env["LETSEMA_STATE_DIR"]))
    tables = ctx.primary.execute(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'letsema_registry' "
        "AND (tablename LIKE 'credit_accounts%%' OR tablename LIKE 'inquiries%%' OR tablename LIKE 'disputes%%')",
        dbname=FERRETDB_DATABASE,
    )
    ran = []
    for schema, table in tables:
        # borrower_key: credit files; loan_ref: the relay's "is this loan another borrower's?" check.
        fields = ("borrower_key", "loan_ref") if table.startswith("credit_accounts") else ("borrower_key",)
        for field in fields:
            index = f'"{schema}"."{table}_{field}_gin"'
            for sql in (
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{table}_{field}_gin" '
                f'ON "{schema}"."{table}" USING gin ((_jsonb -> \'{field}\') jsonb_path_ops) WITH (fastupdate = off)',
                f"ALTER INDEX {index} SET (fastupdate = off)",
                f"SELECT gin_clean_pending_list('{index}'::regclass)",
            ):
                ctx.primary.execute(sql, dbname=FERRETDB_DATABASE)
                ran.append(sql)
    return ran
