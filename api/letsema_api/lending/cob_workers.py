"""Worker processes of ``manage.py close_of_business --workers N``.

Started with the ``spawn`` method (no database connection, Vault session or thread is inherited): each worker
sets Django up from the environment the command runs in and closes whole batches, one transaction each
(``services.close_business_batch``). Batches are disjoint, so workers never wait for each other's row locks.
Nothing Django is imported at module level: the worker imports this module before ``django.setup()``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

_ready = False


def setup() -> None:
    """The tenant process start-up (``letsema_api.startup``) and Django, from the inherited environment
    (settings module, tenant, Vault address); once per process. Run by the first batch, not as a pool
    initializer: a failing initializer makes a pool start new workers forever, a failing task ends the run."""
    global _ready
    if _ready:
        return
    import django

    from letsema_api.startup import start

    start()
    django.setup()
    _ready = True


def close_batch(task: tuple[list[str], str]) -> dict[str, Any]:
    """Close one batch; returns the counts the command's summary adds up (picklable)."""
    setup()
    from letsema_api.lending import services

    loan_ids, as_of = task
    result = services.close_business_batch(loan_ids=loan_ids, as_of=date.fromisoformat(as_of))
    return batch_counts(len(loan_ids), result)


def batch_counts(size: int, result: Any) -> dict[str, Any]:
    return {
        "size": size,
        "processed": len(result.processed),
        "penalties": len(result.penalties_charged),
        "penalty_total": sum((p.amount for p in result.penalties_charged), Decimal("0.00")),
        "arrears": len(result.arrears_changes),
        "reallocations": len(result.reallocations),
    }
