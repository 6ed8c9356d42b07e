"""pytest fixtures that give every test tier real services, started on demand.

Loaded by ``tests/conftest.py`` (``pytest_plugins``). Each fixture is session
scoped and lazy: the unit tier starts nothing; the first integration test that
asks for PostgreSQL starts a primary and a streaming replica in a temporary
folder on free loopback ports, and the session stops them at the end.

- ``pg_cluster``: PostgreSQL primary + hot standby (``.primary``, ``.replica``).
- ``openbao``: an OpenBao dev server (in memory, random root token).
- ``vault_platform``: ``openbao`` configured against ``pg_cluster`` exactly as the
  local platform configures it (database engine, Transit, KV v2, policies) for two
  test tenants, ``alpha`` and ``beta``.
- ``mongo_url``: a MongoDB-wire-protocol server — ``LETSEMA_MONGO_URL`` if set (CI
  points it at a real ``mongo`` service container), else ``mongod`` on PATH, else
  FerretDB built from its Go module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from letsema_dev.platform import TenantSpec, configure_openbao, prepare_postgres
from letsema_dev.procs import LOOPBACK, free_port, port_accepts, wait_until
from letsema_dev.services.ferretdb import FerretDBServer
from letsema_dev.services.openbao import OpenBaoServer
from letsema_dev.services.postgres import PostgresServer

TEST_TENANTS = [TenantSpec("alpha", "Alpha Microfinance"), TenantSpec("beta", "Beta Credit")]

# Test clusters trade durability for speed; nothing in them outlives the session.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass
class PgCluster:
    primary: PostgresServer
    replica: PostgresServer


@dataclass
class VaultPlatform:
    openbao: OpenBaoServer
    pg: PgCluster
    tenants: list[TenantSpec]

    def client(self) -> Any:
        return self.openbao.client()


@contextlib.contextmanager
def service_dir(name: str) -> Iterator[Path]:
    """A temporary folder for a server that runs as another user (PostgreSQL as ``postgres``).

    Not under pytest's ``tmp_path``: pytest resets its base folder to mode 0700 whenever another
    pytest run starts, which locks the server's user out of its own data mid-run.
    """
    base = Path(tempfile.mkdtemp(prefix=f"letsema-{name}-"))
    os.chmod(base, 0o711)  # noqa: S103 - traverse only, so the server user can reach its folder
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    with service_dir("pg") as base:
        yield from _pg_cluster(base)


def _pg_cluster(base: Path) -> Iterator[PgCluster]:
    primary = PostgresServer(base_dir=base / "primary", port=free_port(), name="test-primary", settings=FAST_SETTINGS)
    replica: PostgresServer | None = None
    try:
        primary.initdb()
        primary.start()
        replica = primary.create_replica(base_dir=base / "replica", port=free_port(), name="test-replica")
        replica.start()
        yield PgCluster(primary=primary, replica=replica)
    finally:
        if replica is not None:
            replica.stop(mode="immediate")
        primary.stop(mode="immediate")


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBaoServer]:
    server = OpenBaoServer(base_dir=tmp_path_factory.mktemp("openbao"), port=free_port(), dev=True)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def vault_platform(openbao: OpenBaoServer, pg_cluster: PgCluster) -> VaultPlatform:
    password = prepare_postgres(pg_cluster.primary, TEST_TENANTS)
    configure_openbao(openbao.client(), pg_cluster.primary, TEST_TENANTS, admin_password=password)
    return VaultPlatform(openbao=openbao, pg=pg_cluster, tenants=TEST_TENANTS)


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("LETSEMA_MONGO_URL")
    if external:
        yield external
        return
    base = tmp_path_factory.mktemp("mongo")
    if shutil.which("mongod"):
        port = free_port()
        (base / "data").mkdir()
        with open(base / "mongod.log", "ab") as log:
            proc = subprocess.Popen(
                ["mongod", "--bind_ip", LOOPBACK, "--port", str(port), "--dbpath", str(base / "data")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: port_accepts(port), timeout=30, what="mongod")
            yield f"mongodb://{LOOPBACK}:{port}/"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        return
    server = FerretDBServer(base_dir=base, port=free_port())
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def free_port_pair() -> int:
    """A port p with p+1 also free (OpenBao's API and cluster ports)."""
    import socket

    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind((LOOPBACK, port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair on 127.0.0.1")


def run_letsema(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the ``letsema`` CLI as a developer would, with ``env``; output captured."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "letsema_dev.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def dev_platform_env(name: str = "dev-platform") -> Iterator[dict[str, str]]:
    """The environment for a private local platform: its own state folder and free ports.

    The platform itself is started by the caller (``run_letsema(env, "dev", "up")``) and always
    stopped when the context ends.
    """
    with service_dir(name) as state:
        env = {
            **os.environ,
            "LETSEMA_STATE_DIR": str(state),
            "LETSEMA_PG_PORT": str(free_port()),
            "LETSEMA_PG_REPLICA_PORT": str(free_port()),
            "LETSEMA_OPENBAO_PORT": str(free_port_pair()),
            "LETSEMA_MONGO_PORT": str(free_port()),
            "LETSEMA_API_KHOTSO_PORT": str(free_port()),
            "LETSEMA_API_TSEPO_PORT": str(free_port()),
        }
        env.pop("LETSEMA_MONGO_URL", None)  # the supervisor's own MongoDB-protocol server
        try:
            yield env
        finally:
            run_letsema(env, "dev", "down", timeout=120)
