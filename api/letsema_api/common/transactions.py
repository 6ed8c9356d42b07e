"""Request transactions: reads outside one, writes inside one.

The tenant database runs with ``ATOMIC_REQUESTS``: Django wraps every view in a transaction. A read gains
nothing from it at PostgreSQL's READ COMMITTED level (each statement takes its own snapshot inside a
transaction too), and it costs a ``BEGIN`` and a ``COMMIT`` round trip per request, which on a one-row read
is as much as the read itself. ``reads_outside_transaction`` builds a DRF view whose safe methods (GET,
HEAD, OPTIONS) run in autocommit, while every other method still runs in one transaction, exactly as
``ATOMIC_REQUESTS`` would run it (DRF's exception handler still marks it for rollback on an error).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from rest_framework.permissions import SAFE_METHODS


def reads_outside_transaction(view_class: Any, **initkwargs: Any) -> Callable[..., Any]:
    """``view_class.as_view(**initkwargs)`` with its safe methods out of the request transaction.

    Use it in a URLconf in place of ``as_view()`` for a view whose GET handler only reads. The result
    keeps ``as_view``'s attributes (``cls``, ``initkwargs``, ``csrf_exempt``), so drf-spectacular and
    the URL resolver see the same view."""
    view = view_class.as_view(**initkwargs)

    @functools.wraps(view)
    def dispatch(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return view(request, *args, **kwargs)
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            return view(request, *args, **kwargs)

    non_atomic: Callable[..., Any] = transaction.non_atomic_requests(using=DEFAULT_DB_ALIAS)(dispatch)
    return non_atomic
