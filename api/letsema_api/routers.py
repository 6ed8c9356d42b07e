"""Where queries go: writes and ordinary reads to the primary; list and report reads to the replica.

Selectors opt in for reads that tolerate a little staleness::

    with using_replica():
        rows = list(Loan.objects.filter(...))      # on the replica when it is healthy

    loans = on_replica(Loan.objects.filter(...))    # the same, for one queryset

Everything else reads from the primary (read-your-writes). The replica is used only
when ``DATABASES["replica"]`` exists AND a cheap, cached health check passes: the
server answers, is a standby (``pg_is_in_recovery()``) and its replay lag is within
``LETSEMA_REPLICA_MAX_LAG_SECONDS``. Migrations run on the primary only.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

log = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"

_prefer_replica: ContextVar[bool] = ContextVar("letsema_prefer_replica", default=False)

M = TypeVar("M", bound=Model)
T = TypeVar("T")

LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0.0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8, 0.0)
       END
"""


@dataclass(frozen=True)
class ReplicaStatus:
    healthy: bool
    reason: str
    lag_seconds: float | None = None


class ReplicaHealth:
    """A cached answer to "may reads go to the replica now?"."""

    def __init__(
        self,
        *,
        probe: Callable[[], tuple[bool, float | None]],
        max_lag_seconds: float,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe = probe
        self.max_lag_seconds = max_lag_seconds
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._status: ReplicaStatus | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def status(self) -> ReplicaStatus:
        with self._lock:
            now = self.clock()
            if self._status is None or now - self._checked_at >= self.cache_seconds:
                self._status = self._check()
                self._checked_at = now
            return self._status

    def mark_down(self, reason: str) -> None:
        """Route reads to the primary until the next probe (``cache_seconds`` from now)."""
        with self._lock:
            self._status = ReplicaStatus(healthy=False, reason=reason)
            self._checked_at = self.clock()

    def _check(self) -> ReplicaStatus:
        try:
            in_recovery, lag = self.probe()
        except Exception as exc:
            log.warning("replica unhealthy, reading from the primary: %s", exc)
            return ReplicaStatus(healthy=False, reason=f"unreachable: {exc}".splitlines()[0])
        if not in_recovery:
            return ReplicaStatus(healthy=False, reason="not a standby (promoted?)")
        lag = lag or 0.0
        from letsema_api.health.metrics import REPLICA_LAG

        REPLICA_LAG.set(lag)
        if lag > self.max_lag_seconds:
            return ReplicaStatus(
                healthy=False, reason=f"lag {lag:.1f}s over {self.max_lag_seconds:g}s", lag_seconds=lag
            )
        return ReplicaStatus(healthy=True, reason="ok", lag_seconds=lag)


def connection_probe(alias: str = REPLICA) -> Callable[[], tuple[bool, float | None]]:
    """A probe over Django's connection ``alias`` (closed again on failure so the next try reconnects)."""

    def probe() -> tuple[bool, float | None]:
        from django.db import connections

        conn = connections[alias]
        try:
            with conn.cursor() as cursor:
                cursor.execute(LAG_SQL)
                in_recovery, lag = cursor.fetchone()
        except Exception:
            with contextlib.suppress(Exception):
                conn.close()
            raise
        return bool(in_recovery), lag

    return probe


_health: ReplicaHealth | None = None
_health_lock = threading.Lock()


def replica_configured() -> bool:
    from django.conf import settings

    return REPLICA in settings.DATABASES


def replica_health() -> ReplicaHealth:
    global _health
    with _health_lock:
        if _health is None:
            from django.conf import settings

            _health = ReplicaHealth(
                probe=connection_probe(REPLICA), max_lag_seconds=settings.LETSEMA.replica_max_lag_seconds
            )
        return _health


def read_alias() -> str:
    """The alias list/report reads should use now: the replica when configured and healthy."""
    if replica_configured() and replica_health().status().healthy:
        return REPLICA
    return PRIMARY


def with_replica_fallback(read: Callable[[], T]) -> T:
    """Run a replica-tolerant read; if the replica fails under it, read again from the primary.

    The health probe is cached, so a replica that dies between two probes would otherwise turn the
    next reads into errors. A database error raised while the replica was in use marks it down (the
    primary serves until the next probe), drops its broken connection, and runs ``read`` once more.
    An error while the primary was already serving is the caller's.
    """
    from django.db import DatabaseError, connections

    if read_alias() != REPLICA:
        return read()
    try:
        return read()
    except DatabaseError as exc:
        log.warning("replica failed during a read; retrying on the primary: %s", str(exc).splitlines()[0])
        replica_health().mark_down(f"failed during a read: {exc}".splitlines()[0])
        with contextlib.suppress(Exception):
            connections[REPLICA].close()
        return read()


@contextlib.contextmanager
def using_replica() -> Iterator[None]:
    """Within the block, reads the router sees go to the replica when it is healthy."""
    token = _prefer_replica.set(True)
    try:
        yield
    finally:
        _prefer_replica.reset(token)


def on_replica(queryset: QuerySet[M]) -> QuerySet[M]:
    """``queryset`` bound to the replica when healthy, else to the primary."""
    return queryset.using(read_alias())


class ReplicaRouter:
    """Django database router (``DATABASE_ROUTERS``)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return read_alias() if _prefer_replica.get() else PRIMARY

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        # The replica is a copy of the primary: rows from either may be related.
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY
