"""The replica router against the real primary + streaming replica."""

from __future__ import annotations

import time
from typing import Any

import pytest

from letsema_dev.procs import free_port
from tests.integration.conftest import DjangoApi

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


def server_is_standby(alias: str) -> bool:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


@pytest.fixture
def fresh_health(django_api: DjangoApi) -> Any:
    """The process's replica health with its cache emptied (restored afterwards)."""
    from letsema_api import routers

    health = routers.replica_health()
    saved = (health.max_lag_seconds, health.probe)
    health._status = None
    yield health
    health.max_lag_seconds, health.probe = saved
    health._status = None


class TestReplicaRouter:
    def test_list_reads_in_using_replica_go_to_the_standby(self, fresh_health: Any, make_user: Any) -> None:
        from letsema_api.accounts.models import User
        from letsema_api.routers import using_replica

        user = make_user("auditor")
        with using_replica():
            users = User.objects.filter(pk=user.pk)
            assert users.db == "replica"
            deadline = time.monotonic() + 2
            while not users.exists() and time.monotonic() < deadline:
                time.sleep(0.02)  # streaming replication takes a moment
            assert list(users.values_list("username", flat=True)) == [user.username]
        assert server_is_standby("replica")
        assert not server_is_standby("default")

    def test_on_replica_binds_one_queryset_to_the_replica(self, fresh_health: Any) -> None:
        from letsema_api.accounts.models import User
        from letsema_api.routers import on_replica

        assert on_replica(User.objects.all()).db == "replica"

    def test_ordinary_reads_and_all_writes_go_to_the_primary(self, fresh_health: Any) -> None:
        from letsema_api.accounts.models import User
        from letsema_api.routers import ReplicaRouter, using_replica

        assert User.objects.all().db == "default"
        with using_replica():
            assert ReplicaRouter().db_for_write(User) == "default"

    def test_migrations_run_on_the_primary_only(self) -> None:
        from letsema_api.routers import ReplicaRouter

        router = ReplicaRouter()
        assert router.allow_migrate("default", "accounts")
        assert not router.allow_migrate("replica", "accounts")

    def test_reads_fall_back_to_the_primary_when_the_replica_lags(
        self, django_api: DjangoApi, fresh_health: Any
    ) -> None:
        from letsema_api.accounts.models import User
        from letsema_api.routers import using_replica

        pg = django_api.platform.pg
        fresh_health.max_lag_seconds = 0.5
        pg.replica.execute("SELECT pg_wal_replay_pause()")
        try:
            pg.primary.execute("CREATE TABLE IF NOT EXISTS letsema_lag_probe (x int)")
            pg.primary.execute("INSERT INTO letsema_lag_probe VALUES (1)")
            time.sleep(1.2)
            status = fresh_health.status()
            with using_replica():
                db = User.objects.all().db
        finally:
            pg.replica.execute("SELECT pg_wal_replay_resume()")
        assert not status.healthy
        assert status.reason.startswith("lag ")
        assert status.lag_seconds > 0.5
        assert db == "default"

    def test_reads_fall_back_to_the_primary_when_the_replica_is_unreachable(
        self, django_api: DjangoApi, fresh_health: Any
    ) -> None:
        from django.db import connections
        from letsema_api.accounts.models import User
        from letsema_api.db.base import DatabaseWrapper
        from letsema_api.routers import using_replica

        dead = DatabaseWrapper({**connections["replica"].settings_dict, "PORT": free_port()}, "dead-replica")

        def probe() -> tuple[bool, float | None]:
            with dead.cursor() as cursor:
                cursor.execute("SELECT pg_is_in_recovery(), 0.0::float8")
                in_recovery, lag = cursor.fetchone()
            return bool(in_recovery), lag

        fresh_health.probe = probe
        with using_replica():
            assert User.objects.all().db == "default"
        status = fresh_health.status()
        assert not status.healthy
        assert status.reason.startswith("unreachable")

    def test_a_promoted_replica_is_not_used_for_reads(self, fresh_health: Any) -> None:
        fresh_health.probe = lambda: (False, None)
        status = fresh_health.status()
        assert not status.healthy
        assert "not a standby" in status.reason

    def test_health_is_cached_between_checks(self, fresh_health: Any) -> None:
        calls: list[int] = []

        def probe() -> tuple[bool, float | None]:
            calls.append(1)
            return True, 0.0

        fresh_health.probe = probe
        assert fresh_health.status().healthy
        assert fresh_health.status().healthy
        assert len(calls) == 1
