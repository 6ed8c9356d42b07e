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
