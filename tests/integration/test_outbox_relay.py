"""The relay publishes the transactional outbox to the registry exactly once, through an outage.

The outage test starts ITS OWN MongoDB-protocol server (FerretDB on a free port under ``tmp_path``), stops
it while repayments are posted over HTTP, and starts it again (same data) before the relay catches up;
the session's shared registry fixture is never touched."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from letsema_core.credit import CreditAccountEvent
from tests.contracts.credit_registry import account_event
from tests.integration.test_api_lending_support import (
    approved_loan,
    as_role,
    borrower_id,
    ok,
    product_id,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["as_role", "borrower_id", "product_id"]  # fixtures


@pytest.fixture
def own_ferretdb(tmp_path: Path) -> Iterator[Any]:
    from letsema_dev.procs import free_port
    from letsema_dev.services.ferretdb import FerretDBServer

    server = FerretDBServer(base_dir=tmp_path / "ferretdb", port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def registry_on(url: str, database: str) -> Any:
    import pymongo
    from letsema_api.registry import MongoCreditRegistry

    client: pymongo.MongoClient[Any] = pymongo.MongoClient(url, serverSelectionTimeoutMS=1500, tz_aware=True)
    return MongoCreditRegistry.from_client(client, database=database)


def relay_once(url: str, database: str) -> None:
    from django.core.management import call_command

    call_command("relay_credit_events", once=True, mongo_url=url, registry_db=database, no_progress=True)


def loan_rows(loan_id: str) -> list[tuple[int, str, str, int]]:
    from letsema_api.outbox.models import OutboxEvent

    return [
        (row.sequence, row.event_type, row.status, row.attempts)
        for row in OutboxEvent.objects.filter(loan_ref=loan_id).order_by("sequence")
    ]


class TestRelayThroughAnOutage:
    def test_repayments_succeed_while_the_registry_is_down_and_are_published_exactly_once(
        self, own_ferretdb: Any, as_role: Any, borrower_id: str, product_id: str, django_api: Any
    ) -> None:
        from django.core.management.base import CommandError
        from letsema_api.borrowers.services import borrower_repository
        from letsema_api.lending.services import hasher
        from letsema_api.outbox.models import OutboxEvent

        from letsema_core.credit.keys import borrower_key

        database = f"relay_{uuid.uuid4().hex[:8]}"
        officer, _, loan_id = approved_loan(as_role, borrower_id=borrower_id, product_id=product_id)
        relay_once(own_ferretdb.url, database)
        assert loan_rows(loan_id) == [(1, "account_opened", "published", 1)]

        own_ferretdb.stop()
        url = f"/api/v1/loans/{loan_id}/repayments/"
        ok(
            officer.post(url, {"amount": "945.60", "on": "2026-02-05"}, **{"Idempotency-Key": f"out-{uuid.uuid4()}"}),
            201,
        )
        paid = ok(
            officer.post(url, {"amount": "945.60", "on": "2026-03-05"}, **{"Idempotency-Key": f"out-{uuid.uuid4()}"}),
            201,
        )
        with pytest.raises(CommandError, match="left pending"):
            relay_once(own_ferretdb.url, database)
        rows = loan_rows(loan_id)
        assert [(seq, kind, status) for seq, kind, status, _ in rows] == [
            (1, "account_opened", "published"),
            (2, "repayment", "pending"),
            (3, "repayment", "pending"),
        ]
        failed = OutboxEvent.objects.filter(status="pending", attempts__gt=0).order_by("id").first()
        assert failed is not None
        assert failed.last_error

        own_ferretdb.start()
        relay_once(own_ferretdb.url, database)
        assert [status for _, _, status, _ in loan_rows(loan_id)] == ["published"] * 3
        relay_once(own_ferretdb.url, database)  # nothing left: publishes nothing
        assert [status for _, _, status, _ in loan_rows(loan_id)] == ["published"] * 3

        borrower = borrower_repository().get(borrower_id)
        key = borrower_key(identifier=borrower.primary_identifier, hasher=hasher())
        credit_file = registry_on(own_ferretdb.url, database).credit_file(country="LS", borrower_key=key)
        [account] = credit_file.accounts
        assert (account.loan_ref, account.last_sequence, account.status.value) == (loan_id, 3, "active")
        assert f"{account.outstanding_balance:.2f}" == paid["outstanding_principal"] == "8493.89"
        # One account document per revision left: the adapter keeps only the newest (no doubled events).
        documents = list(
            registry_on(own_ferretdb.url, database).database["credit_accounts"].find({"loan_ref": loan_id})
        )
        assert len(documents) == 1

    def test_the_relay_command_prints_a_summary(self, own_ferretdb: Any, capsys: pytest.CaptureFixture[str]) -> None:
        relay_once(own_ferretdb.url, f"relay_{uuid.uuid4().hex[:8]}")
        assert "events published, 0 pending, 0 failed passes" in capsys.readouterr().out


class TestRelayLoop:
    def test_the_loop_backs_off_exponentially_while_the_registry_is_down(
        self, django_api: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import io

        from django.core.management import call_command
        from letsema_api.outbox.management.commands import relay_credit_events as command
        from letsema_api.outbox.models import OutboxEvent
        from letsema_api.outbox.repositories import DjangoOutbox

        from letsema_dev.procs import free_port

        loan_ref = f"L-{uuid.uuid4().hex[:8]}"
        DjangoOutbox().append(account_event(loan_ref=loan_ref, sequence=1))
        waits: list[float] = []

        def fake_sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 4:
                raise KeyboardInterrupt

        monkeypatch.setattr(command, "_sleep", fake_sleep)
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "relay_credit_events",
            mongo_url=f"mongodb://127.0.0.1:{free_port()}/",
            timeout_seconds=0.2,
            max_backoff_seconds=4,
            no_progress=True,
            stdout=out,
            stderr=err,
        )
        assert waits == [1.0, 2.0, 4.0, 4.0]
        assert "registry unavailable, retrying in 1s" in err.getvalue()
        assert "4 failed passes" in out.getvalue()
        row = OutboxEvent.objects.get(loan_ref=loan_ref)
        assert row.status == "pending"
        assert row.attempts >= 1

    def test_the_loop_survives_the_database_going_away(self, django_api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A restart of the tenant's PostgreSQL must not end the relay (the fault drill restarting the primary
        found it exited): it waits, reconnects and carries on."""
        import io

        from django.core.management import call_command
        from django.db.utils import OperationalError
        from letsema_api.outbox.management.commands import relay_credit_events as command

        from letsema_dev.procs import free_port

        passes: list[str] = []

        def flaky_pass(self: Any, registry: Any, options: Any) -> tuple[int, str | None]:
            passes.append("pass")
            if len(passes) == 1:
                raise OperationalError("server closed the connection unexpectedly\nThis probably means …")
            return 0, None

        waits: list[float] = []

        def fake_sleep(seconds: float) -> None:
            waits.append(seconds)
            if len(waits) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(command.Command, "_pass", flaky_pass)
        monkeypatch.setattr(command, "_sleep", fake_sleep)
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "relay_credit_events",
            mongo_url=f"mongodb://127.0.0.1:{free_port()}/",
            no_progress=True,
            idle_seconds=2.0,
            stdout=out,
            stderr=err,
        )
        assert passes == ["pass", "pass"]  # it tried again after the failure
        assert waits == [1.0, 2.0]  # the back-off, then the idle sleep of a healthy pass
        assert (
            "database unavailable, retrying in 1s: database unavailable: server closed the connection" in err.getvalue()
        )
        assert "1 failed passes" in out.getvalue()


class TestRelayBatches:
    def test_a_locked_batch_is_skipped_by_a_second_relay(self, django_api: Any) -> None:
        from django.db import transaction
        from letsema_api.outbox import relay
        from letsema_api.outbox.models import OutboxEvent
        from letsema_api.outbox.repositories import DjangoOutbox

        loan_ref = f"L-{uuid.uuid4().hex[:8]}"
        events = [account_event(loan_ref=loan_ref, sequence=n) for n in (1, 2)]
        with transaction.atomic():
            for event in events:
                DjangoOutbox().append(event)
        seen: list[CreditAccountEvent] = []

        class Recording:
            def record_account_event(self, event: CreditAccountEvent) -> None:
                seen.append(event)

        holding, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            from django.db import connection

            try:
                with transaction.atomic():
                    list(OutboxEvent.objects.select_for_update().filter(loan_ref=loan_ref))
                    holding.set()
                    release.wait(10)
            finally:
                connection.close()

        thread = threading.Thread(target=hold_lock)
        thread.start()
        try:
            assert holding.wait(10)
            relay.relay_batch(registry=Recording(), batch_size=10_000)  # type: ignore[arg-type]
            assert [e for e in seen if e.loan_ref == loan_ref] == []
        finally:
            release.set()
            thread.join()
        relay.relay_batch(registry=Recording(), batch_size=10_000)  # type: ignore[arg-type]
        assert [e.sequence for e in seen if e.loan_ref == loan_ref] == [1, 2]
        assert set(OutboxEvent.objects.filter(loan_ref=loan_ref).values_list("status", flat=True)) == {"published"}

    def test_a_registry_error_stops_the_batch_and_keeps_the_rest_pending(self, django_api: Any) -> None:
        from letsema_api.outbox import relay
        from letsema_api.outbox.models import OutboxEvent
        from letsema_api.outbox.repositories import DjangoOutbox
        from pymongo.errors import ServerSelectionTimeoutError

        loan_ref = f"L-{uuid.uuid4().hex[:8]}"
        for n in (1, 2, 3):
            DjangoOutbox().append(account_event(loan_ref=loan_ref, sequence=n))
        published: list[int] = []

        class FailsOnSecond:
            def record_account_event(self, event: CreditAccountEvent) -> None:
                if event.loan_ref == loan_ref and event.sequence == 2:
                    raise ServerSelectionTimeoutError("registry down")
                if event.loan_ref == loan_ref:
                    published.append(event.sequence)

        result = relay.relay_batch(registry=FailsOnSecond(), batch_size=10_000)  # type: ignore[arg-type]
        assert result.failed
        assert "registry down" in (result.error or "")
        rows = {r.sequence: r for r in OutboxEvent.objects.filter(loan_ref=loan_ref)}
        assert (rows[1].status, rows[2].status, rows[3].status) == ("published", "pending", "pending")
        assert (rows[2].attempts, rows[3].attempts) == (1, 0)
        assert "registry down" in rows[2].last_error
        assert published == [1]

    def test_an_event_the_registry_refuses_stays_pending_with_its_reason_and_the_rest_go_on(
        self, django_api: Any
    ) -> None:
        from letsema_api.outbox import relay
        from letsema_api.outbox.models import OutboxEvent
        from letsema_api.outbox.repositories import DjangoOutbox

        from letsema_core.errors import ValidationError

        loan_ref = f"L-{uuid.uuid4().hex[:8]}"
        for n in (1, 2):
            DjangoOutbox().append(account_event(loan_ref=loan_ref, sequence=n))

        class RefusesFirst:
            def record_account_event(self, event: CreditAccountEvent) -> None:
                if event.loan_ref == loan_ref and event.sequence == 1:
                    raise ValidationError("filed under another borrower", field="borrower_key", rule="same_loan")

        result = relay.relay_batch(registry=RefusesFirst(), batch_size=10_000)  # type: ignore[arg-type]
        assert not result.failed
        rows = {r.sequence: r for r in OutboxEvent.objects.filter(loan_ref=loan_ref)}
        assert (rows[1].status, rows[1].attempts, rows[2].status) == ("pending", 1, "published")
        assert rows[1].last_error.startswith("validation_error: filed under another borrower")


class TestRelayBatchesToTheRegistry:
    """The relay sends a batch in one call to a registry that takes batches (``MongoCreditRegistry``)."""

    @pytest.fixture
    def registry(self, mongo_url: str) -> Iterator[Any]:
        import pymongo
        from letsema_api.registry import MongoCreditRegistry
        from letsema_api.registry.bootstrap import ensure_registry

        client: pymongo.MongoClient[Any] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=10_000)
        name = f"relay_batch_{uuid.uuid4().hex[:8]}"
        ensure_registry(client, database=name)
        yield MongoCreditRegistry.from_client(client, database=name)
        client.drop_database(name)
        client.close()

    @staticmethod
    def _queue(loan_refs: list[str]) -> list[CreditAccountEvent]:
        from letsema_api.outbox.repositories import DjangoOutbox

        events = [
            account_event(
                event_type="account_opened" if n == 1 else "repayment",
                loan_ref=ref,
                sequence=n,
                outstanding_balance=f"{10000 - 100 * n}.00",
            )
            for n in (1, 2, 3)
            for ref in loan_refs
        ]
        for event in events:
            DjangoOutbox().append(event)
        return events

    @staticmethod
    def _statuses(loan_refs: list[str]) -> dict[tuple[str, int], tuple[str, int]]:
        from letsema_api.outbox.models import OutboxEvent

        rows = OutboxEvent.objects.filter(loan_ref__in=loan_refs)
        return {(r.loan_ref, r.sequence): (r.status, r.attempts) for r in rows}

    def test_a_batch_is_published_with_one_registry_call(
        self, django_api: Any, registry: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from letsema_api.outbox import relay
        from letsema_api.registry import MongoCreditRegistry

        from letsema_core.testing import InMemoryCreditRegistry

        refs = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        events = self._queue(refs)
        calls: list[int] = []
        one_at_a_time = MongoCreditRegistry.record_account_event
        original = MongoCreditRegistry.record_account_events

        def counting(self: Any, batch: Any) -> Any:
            calls.append(len(batch))
            return original(self, batch)

        def never(self: Any, event: Any) -> None:
            raise AssertionError(f"sent alone: {event.loan_ref}#{event.sequence}")

        monkeypatch.setattr(MongoCreditRegistry, "record_account_events", counting)
        monkeypatch.setattr(MongoCreditRegistry, "record_account_event", never)
        result = relay.relay_batch(registry=registry, batch_size=10_000)
        monkeypatch.setattr(MongoCreditRegistry, "record_account_event", one_at_a_time)
        assert not result.failed
        assert len(calls) == 1
        assert set(self._statuses(refs).values()) == {("published", 1)}
        fake = InMemoryCreditRegistry()
        for event in events:
            fake.record_account_event(event)
        key = events[0].borrower_key
        mine = [a for a in registry.credit_file(country="LS", borrower_key=key).accounts if a.loan_ref in refs]
        assert mine == [a for a in fake.credit_file(country="LS", borrower_key=key).accounts]

    def test_a_crash_in_the_middle_of_a_batch_and_the_retry_apply_each_event_once(
        self, django_api: Any, registry: Any
    ) -> None:
        from letsema_api.outbox import relay
        from pymongo.errors import AutoReconnect

        from letsema_core.testing import InMemoryCreditRegistry

        refs = [f"L-{uuid.uuid4().hex[:8]}" for _ in range(3)]
        events = self._queue(refs)

        class DiesHalfway:
            """Writes the first half of the batch to the real registry, then the connection drops."""

            def record_account_events(self, batch: list[CreditAccountEvent]) -> list[Any]:
                registry.record_account_events(batch[: len(batch) // 2])
                raise AutoReconnect("connection closed")

            def record_account_event(self, event: CreditAccountEvent) -> None:
                raise AssertionError("a batch registry gets batches")

        failed = relay.relay_batch(registry=DiesHalfway(), batch_size=10_000)  # type: ignore[arg-type]
        assert failed.failed
        assert "connection closed" in (failed.error or "")
        assert {status for status, _ in self._statuses(refs).values()} == {"pending"}

        assert not relay.relay_batch(registry=registry, batch_size=10_000).failed
        assert {status for status, _ in self._statuses(refs).values()} == {"published"}
        fake = InMemoryCreditRegistry()
        for event in events:
            fake.record_account_event(event)
        key = events[0].borrower_key
        mine = [a for a in registry.credit_file(country="LS", borrower_key=key).accounts if a.loan_ref in refs]
        assert mine == list(fake.credit_file(country="LS", borrower_key=key).accounts)
        for ref in refs:  # one revision left per account: nothing was applied twice
            assert registry.database["credit_accounts"].count_documents({"loan_ref": ref}) == 1
