"""The Django outbox passes the core's contract suite (rolled-back transactions) and keeps one row per event."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts.credit_registry import account_event
from tests.contracts.outbox import OutboxContract
from tests.integration.test_api_lending_support import empty, rolled_back

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]

__all__ = ["empty", "rolled_back"]


class TestDjangoOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self, empty: None) -> Any:
        from letsema_api.outbox.repositories import DjangoOutbox

        return DjangoOutbox()

    def test_rows_carry_status_attempts_and_the_versioned_payload(self, outbox: Any) -> None:
        from letsema_api.outbox.models import OutboxEvent

        event = account_event()
        outbox.append(event)
        row = OutboxEvent.objects.get(event_id=event.event_id)
        assert (row.status, row.attempts, row.last_error) == ("pending", 0, "")
        assert row.payload == event.to_dict()
        outbox.mark_published([event.event_id])
        row.refresh_from_db()
        assert row.status == "published"
        assert row.published_at is not None


class TestDeferredDjangoOutbox:
    def test_appends_are_inserted_by_flush_and_counted_by_last_sequence_before_it(self, empty: None) -> None:
        from letsema_api.outbox.models import OutboxEvent
        from letsema_api.outbox.repositories import DjangoOutbox

        DjangoOutbox().append(account_event(loan_ref="L-1", sequence=1))
        DjangoOutbox().append(account_event(loan_ref="L-1", sequence=2))
        outbox = DjangoOutbox(deferred=True)
        outbox.prefetch_last_sequences(lender_mfi="khotso", loan_refs=["L-1", "L-2"])
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-1") == 2
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-2") == 0
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-3") == 0  # not prefetched: asked
        later = [account_event(loan_ref="L-1", sequence=3), account_event(loan_ref="L-2", sequence=1)]
        for event in later:
            outbox.append(event)
        assert OutboxEvent.objects.count() == 2  # nothing inserted yet
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-1") == 3
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-2") == 1
        assert outbox.flush() == 2
        assert outbox.flush() == 0
        pending = list(DjangoOutbox().pending())
        assert [(e.loan_ref, e.sequence) for e in pending] == [("L-1", 1), ("L-1", 2), ("L-1", 3), ("L-2", 1)]
        assert pending[2:] == later

    def test_prefetch_is_refused_on_an_outbox_that_writes_at_once(self, empty: None) -> None:
        from letsema_api.outbox.repositories import DjangoOutbox

        with pytest.raises(RuntimeError):
            DjangoOutbox().prefetch_last_sequences(lender_mfi="khotso", loan_refs=["L-1"])
