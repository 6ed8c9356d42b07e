"""The machine's ceilings, measured in the same run as the Letsema operations they bound.

``measure_ceilings`` creates a scratch database ``letsema_ceiling`` (and a login role of the same
name with a password made for this run) on the platform's PostgreSQL primary, then measures:

- ``pgbench``: ``pgbench -i -s 10`` then ``pgbench -N`` (no updates of the two small, contended
  tables) for the given seconds with one client per Locust user, over TCP like the APIs;
- ``get_constant``, ``get_row``, ``post_write``: Locust against the ceiling app
  (``loadtests/ceiling/``) served by gunicorn with the argv of a tenant API
  (``letsema_dev.stack._api_argv``: same worker count, worker class, access log and timeouts), with
  the tenant APIs' connection reuse (psycopg, ``CONN_MAX_AGE``, health checks, a transaction per
  request), the same users, spawn rate, warm-up and duration as the operations' runs.

Gunicorn is always stopped and the scratch database and role always dropped, also on failure.

**Administration.** The caller passes a superuser connection: locally that is the primary's private
Unix socket, which trusts the ``postgres`` user (``letsema_dev/services/postgres.py``; the folder is
``<state>/pg-primary/run``, also in ``<state>/platform.json``) — ``pg_host`` may be that folder,
``pg_password`` then None. TCP logins need a password; the scratch role gets a fresh one, passed to
pgbench and gunicorn through their environment only.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from letsema_load.measure import DEFAULT_WARMUP_SECONDS, OpStats, run_locust

LOADTESTS = Path(__file__).resolve().parent.parent
REPO_ROOT = LOADTESTS.parent
BENCH_LOCUSTFILE = LOADTESTS / "bench_locustfile.py"

SCRATCH = "letsema_ceiling"  # database and login role
LOOPBACK = "127.0.0.1"
PGBENCH_SCALE = 10
PGBENCH_THREADS = 2
HEALTH_TIMEOUT_SECONDS = 60

#: result key -> Locust user class of bench_locustfile.py
CEILING_CLASSES = {
    "get_constant": "CeilingConstant",
    "get_row": "CeilingRow",
    "post_write": "CeilingWrite",
}
#: each operation class of bench_locustfile.py -> (the ceiling it is compared with, the target share)
OPERATION_CEILINGS: dict[str, tuple[str, float | None]] = {
    "PostRepayment": ("post_write", 0.40),
    "GetLoan": ("get_row", 0.50),
    "GetLoanSchedule": ("get_row", 0.50),
    "GetBorrower": ("get_row", 0.50),
    "ListLoans": ("get_row", 0.50),
    # A credit report writes an inquiry to the registry and reads the borrower's file from it:
    # its target is a p95 (<= 100 ms), its ratio to the write ceiling is for information.
    "CreditReport": ("post_write", None),
}


class CeilingError(RuntimeError):
    """A step of the ceiling measurement failed (pgbench, gunicorn start-up, SQL)."""


# -- pgbench -----------------------------------------------------------------------------------

_TPS = re.compile(r"^tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\)", re.M)
_TPS_ANY = re.compile(r"^tps = ([0-9.]+)", re.M)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.M)
_TRANSACTIONS = re.compile(r"^number of transactions actually processed: (\d+)", re.M)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.M)


def parse_pgbench(output: str) -> dict[str, float]:
    """``tps`` (connection time excluded when pgbench says so), ``latency_avg_ms``, ``transactions``
    and ``failed`` from pgbench's report. Raises ``CeilingError`` when no tps line is found."""
    match = _TPS.search(output) or _TPS_ANY.search(output)
    if match is None:
        raise CeilingError(f"no tps in pgbench output:\n{output[-2000:]}")
    result: dict[str, float] = {"tps": float(match.group(1))}
    for key, pattern in (("latency_avg_ms", _LATENCY), ("transactions", _TRANSACTIONS), ("failed", _FAILED)):
        found = pattern.search(output)
        if found:
            result[key] = float(found.group(1))
    return result


def _pgbench(bin_dir: Path, args: list[str], env: dict[str, str], timeout: float) -> str:
    argv = [str(bin_dir / "pgbench"), *args]
    try:
        proc = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        raise CeilingError(f"pgbench ran past {timeout:.0f} s: {' '.join(argv)}") from None
    if proc.returncode != 0:
        raise CeilingError(f"pgbench {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return proc.stdout + proc.stderr


# -- the scratch database ----------------------------------------------------------------------


def _admin(pg_host: str, pg_port: int, pg_user: str, pg_password: str | None, dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(
        host=pg_host, port=pg_port, user=pg_user, password=pg_password, dbname=dbname, autocommit=True
    )


def _drop_scratch(admin: Any) -> None:
    """Drop the scratch database (disconnecting anyone still in it) and its role, if present."""
    from psycopg import sql

    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(SCRATCH)))
    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(SCRATCH)))


def _create_scratch(admin: Any, password: str) -> None:
    from psycopg import sql

    _drop_scratch(admin)  # what a killed earlier run left behind
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(SCRATCH), sql.Literal(password)))
    admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(SCRATCH), sql.Identifier(SCRATCH)))


def _seed_ceiling_tables(conninfo: dict[str, Any]) -> None:
    """Create and fill the ceiling app's tables as the scratch role, then VACUUM ANALYZE them."""
    import psycopg
    from ceiling.schema import CREATE_TABLES, SEED  # loadtests/ is on sys.path (see _ceiling_import_path)

    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(CREATE_TABLES)
        for statement, params in SEED:
            conn.execute(statement, params)
        conn.execute("VACUUM ANALYZE")


def _ceiling_import_path() -> None:
    if str(LOADTESTS) not in sys.path:
        sys.path.insert(0, str(LOADTESTS))


# -- gunicorn ----------------------------------------------------------------------------------


def ceiling_gunicorn_argv(port: int, run_dir: Path) -> list[str]:
    """A tenant API's gunicorn argv (``letsema_dev.stack._api_argv``) serving the ceiling app instead.

    Built from that function so that a change of the APIs' workers, worker class or logging is a
    change of the ceiling too. Raises ``CeilingError`` if its shape is no longer what is replaced.
    """
    from letsema_dev.stack import _api_argv

    ctx = SimpleNamespace(root=run_dir, ports={"ceiling": port})
    argv = _api_argv(ctx, "ceiling")  # type: ignore[arg-type]
    app = "letsema_api.wsgi:application"
    if app not in argv:
        raise CeilingError(f"the tenant API argv no longer names {app}: {argv}")
    argv[argv.index(app)] = "ceiling.wsgi:application"
    return [*argv, "--pythonpath", str(LOADTESTS)]


def _free_port() -> int:
    from letsema_dev.procs import free_port

    return free_port()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - a loopback URL built here
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _start_gunicorn(argv: list[str], env: dict[str, str], log: Path, health_url: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise CeilingError(f"the ceiling app's gunicorn exited ({proc.returncode}):\n{tail}")
        if _healthy(health_url):
            return proc
        time.sleep(0.2)
    _stop_gunicorn(proc)
    raise CeilingError(f"the ceiling app did not answer {health_url} within {HEALTH_TIMEOUT_SECONDS} s (log: {log})")


def _stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the arbiter (graceful: workers finish their request), SIGKILL to the group if stuck."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


# -- the whole measurement ---------------------------------------------------------------------


def measure_ceilings(
    *,
    pg_host: str,
    pg_port: int,
    pg_user: str,
    pg_password: str | None,
    bin_dir: Path,
    seconds: int,
    users: int,
    out_dir: Path,
    spawn_rate: float | None = None,
    warmup_seconds: int = DEFAULT_WARMUP_SECONDS,
    tcp_host: str = LOOPBACK,
) -> dict[str, OpStats | dict[str, float]]:
    """Measure the ceilings; ``{"pgbench": {...}, "get_constant": OpStats, "get_row": ..., "post_write": ...}``.

    ``pg_host``/``pg_port``/``pg_user``/``pg_password``: a superuser login to the platform's primary
    (``pg_host`` may be a Unix-socket folder). ``bin_dir`` holds ``pgbench``. pgbench and the
    ceiling app connect over TCP to ``tcp_host:pg_port``. ``users``, ``spawn_rate`` (default: all
    users in one second), ``warmup_seconds`` and ``seconds`` must be those of the operations' runs
    for the ratios to be fair. Files (Locust CSV/JSON, pgbench output, gunicorn log) go to
    ``out_dir``. Raises ``CeilingError`` or ``measure.LocustRunFailed``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    _ceiling_import_path()
    password = secrets.token_urlsafe(24)
    results: dict[str, OpStats | dict[str, float]] = {}
    admin = _admin(pg_host, pg_port, pg_user, pg_password)
    try:
        _create_scratch(admin, password)
        tcp = {"host": tcp_host, "port": pg_port, "user": SCRATCH, "password": password, "dbname": SCRATCH}

        pg_env = {
            **os.environ,
            "PGHOST": tcp_host,
            "PGPORT": str(pg_port),
            "PGUSER": SCRATCH,
            "PGPASSWORD": password,
            "PGDATABASE": SCRATCH,
        }
        init = _pgbench(bin_dir, ["-i", "-q", "-s", str(PGBENCH_SCALE)], pg_env, timeout=600)
        threads = min(PGBENCH_THREADS, users)
        run = _pgbench(bin_dir, ["-N", "-c", str(users), "-j", str(threads), "-T", str(seconds)], pg_env, seconds + 120)
        (out_dir / "pgbench.txt").write_text(init + "\n" + run)
        results["pgbench"] = {**parse_pgbench(run), "clients": users, "threads": threads, "seconds": seconds}

        _seed_ceiling_tables(tcp)
        port = _free_port()
        run_dir = out_dir / "ceiling-run"
        run_dir.mkdir(exist_ok=True)
        app_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ceiling.settings",
            "CEILING_DB_HOST": tcp_host,
            "CEILING_DB_PORT": str(pg_port),
            "CEILING_DB_NAME": SCRATCH,
            "CEILING_DB_USER": SCRATCH,
            "CEILING_DB_PASSWORD": password,
        }
        host = f"http://{LOOPBACK}:{port}"
        gunicorn = _start_gunicorn(
            ceiling_gunicorn_argv(port, run_dir), app_env, out_dir / "ceiling-gunicorn.log", f"{host}/healthz"
        )
        try:
            for key, user_class in CEILING_CLASSES.items():
                results[key] = run_locust(
                    locustfile=BENCH_LOCUSTFILE,
                    user_classes=[user_class],
                    host=host,
                    users=users,
                    spawn_rate=spawn_rate or users,
                    seconds=seconds,
                    out_dir=out_dir,
                    name=f"ceiling-{key}",
                    warmup_seconds=warmup_seconds,
                )
        finally:
            _stop_gunicorn(gunicorn)
    finally:
        try:
            _drop_scratch(admin)
        finally:
            admin.close()
    return results
