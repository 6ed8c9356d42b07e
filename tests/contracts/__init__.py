"""Reusable contract suites, one module per port of letsema_core.

Each suite is a base class with an abstract fixture; subclass it and provide the fixture to run the
suite against an implementation::

    from tests.contracts.credit_registry import CreditRegistryContract

    class TestMongoCreditRegistry(CreditRegistryContract):
        @pytest.fixture
        def registry(self, mongo_db):
            return MongoCreditRegistry(mongo_db)

Here they run against the in-memory fakes (``tests/unit/test_contracts_fakes.py``); the API issue runs
them against the real adapters. ``trap_float_operations`` makes a stray float fail loudly.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest


def _trapped() -> Iterator[None]:
    context = decimal.getcontext()
    previous = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        yield
    finally:
        context.traps[decimal.FloatOperation] = previous


@pytest.fixture(autouse=True)
def trap_float_operations() -> Iterator[None]:
    """Trap ``decimal.FloatOperation`` for the test (import it into a test module to apply it there)."""
    yield from _trapped()


class FloatTrapped:
    """Base of every contract suite: floats are trapped in each of its tests."""

    @pytest.fixture(autouse=True)
    def _trap_floats(self) -> Iterator[None]:
        yield from _trapped()
