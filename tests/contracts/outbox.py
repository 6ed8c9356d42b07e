"""Contract of the ``Outbox`` port (the transactional outbox of registry events). Provide ``outbox``."""

from __future__ import annotations

import pytest

from letsema_core.ports import Outbox
from tests.contracts import FloatTrapped
from tests.contracts.credit_registry import account_event


class OutboxContract(FloatTrapped):
    @pytest.fixture
    def outbox(self) -> Outbox:
        raise NotImplementedError

    def test_implements_the_port(self, outbox: Outbox) -> None:
        assert isinstance(outbox, Outbox)

    def test_pending_events_come_back_in_append_order_and_intact(self, outbox: Outbox) -> None:
        events = [account_event(sequence=n) for n in (1, 2, 3)]
        for event in events:
            outbox.append(event)
        assert list(outbox.pending()) == events
        assert list(outbox.pending(limit=2)) == events[:2]

    def test_appending_the_same_event_id_twice_keeps_one(self, outbox: Outbox) -> None:
        outbox.append(account_event())
        outbox.append(account_event())
        assert len(outbox.pending()) == 1

    def test_published_events_are_no_longer_pending(self, outbox: Outbox) -> None:
        first, second = account_event(sequence=1), account_event(sequence=2)
        outbox.append(first)
        outbox.append(second)
        outbox.mark_published([first.event_id, "unknown-id"])
        assert list(outbox.pending()) == [second]
        outbox.append(first)
        assert list(outbox.pending()) == [second]

    def test_last_sequence_is_per_loan_and_survives_publishing(self, outbox: Outbox) -> None:
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-1") == 0
        first, second = account_event(sequence=1), account_event(sequence=2)
        outbox.append(first)
        outbox.append(second)
        outbox.append(account_event(loan_ref="L-2", sequence=7))
        outbox.mark_published([first.event_id, second.event_id])
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-1") == 2
        assert outbox.last_sequence(lender_mfi="khotso", loan_ref="L-2") == 7
        assert outbox.last_sequence(lender_mfi="tsepo", loan_ref="L-1") == 0
