"""Fixtures of the operator tier.

Real services (OpenBao, PostgreSQL) come from the session fixtures of ``letsema_dev.testing``
(loaded by tests/conftest.py): ``openbao`` and ``pg_cluster``.
"""

from __future__ import annotations

import decimal
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _trap_float_operations() -> Iterator[None]:
    context = decimal.getcontext()
    previous = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    yield
    context.traps[decimal.FloatOperation] = previous


@pytest.fixture(scope="session")
def operator_pg() -> Iterator[Any]:
    """A PostgreSQL primary for the operator tier, playing the tenant's CNPG cluster.

    Its folder is a fresh /tmp directory, not pytest's basetemp: pytest resets /tmp/pytest-of-<user> to
    mode 0700 at the start of every session, and on a machine where several sessions run at once that
    locks the unprivileged ``postgres`` user out of a running server's data directory.
    """
    from letsema_dev.procs import free_port
    from letsema_dev.services.postgres import PostgresServer

    base = Path(tempfile.mkdtemp(prefix="letsema-operator-pg-"))
    base.chmod(0o755)
    server = PostgresServer(base_dir=base / "primary", port=free_port(), name="operator-tests",
                            settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(base, ignore_errors=True)
