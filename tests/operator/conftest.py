"""Fixtures of the operator tier.

Real services (OpenBao, PostgreSQL) come from the session fixtures of ``letsema_dev.testing``
(loaded by tests/conftest.py): ``openbao`` and ``pg_cluster``.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _trap_float_operations() -> Iterator[None]:
    context = decimal.getcontext()
    previous = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    yield
    context.traps[decimal.FloatOperation] = previous
