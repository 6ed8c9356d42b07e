"""Shared fixtures for the unit tests of letsema_core (pure, no I/O)."""

from __future__ import annotations

import decimal
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _trap_float_operations() -> Iterator[None]:
    """Make any float mixed into Decimal arithmetic (or compared with a Decimal) raise.

    STYLE.md §4: money is Decimal built from strings; a stray float must fail loudly.
    """
    context = decimal.getcontext()
    previous = context.traps[decimal.FloatOperation]
    context.traps[decimal.FloatOperation] = True
    try:
        yield
    finally:
        context.traps[decimal.FloatOperation] = previous
