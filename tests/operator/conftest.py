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


@pytest.fixture(autouse=True)
def _kmock_matches_one_request_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """kmock 0.8 decides whether a reaction serves a request with ``request in reaction_source``, which
    re-filters every request served so far (``View.__contains__`` iterates the view): each request costs
    O(requests so far × reactions), so a test's requests cost O(n²) and the loop tests slowed down as kopf's
    timers and watches piled requests up (two thirds of their CPU time was in that scan).

    The emulator's own reactions are criteria filters (``Filter``) and priorities (``Priority``) chained on
    the root. For those, a request is in the view exactly when it is in the root and passes every filter of
    the chain, which can be checked on that one request (filters applied from the root outwards, as the
    iteration applies them). Any other view (slices, groups, exclusions) keeps kmock's own check."""
    from kmock._internal import dsl, rendering

    scan = dsl.View.__contains__

    def contains(view: Any, item: Any) -> bool:
        if not isinstance(item, rendering.Request):
            return scan(view, item)
        chain, node = [], view
        while type(node) in (dsl.Filter, dsl.Priority):
            chain.append(node)
            node = node._source
        if not isinstance(node, dsl.Root) or type(node).__iter__ is not dsl.Root.__iter__:
            return scan(view, item)
        requests = node._requests
        if not (0 <= item.id < len(requests) and requests[item.id] is item):
            return scan(view, item)
        return all(step.criteria(item) for step in reversed(chain) if type(step) is dsl.Filter)

    monkeypatch.setattr(dsl.Filter, "__contains__", contains)
    monkeypatch.setattr(dsl.Priority, "__contains__", contains)


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
