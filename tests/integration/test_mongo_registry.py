"""``MongoCreditRegistry`` against the MongoDB-protocol server (FerretDB here, real ``mongo:7`` in CI).

The core's contract suite runs as it is; the tests after it cover what only the adapter has: money
encodings, the optimistic-concurrency write loop, indexes and the plain-server bootstrap.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pymongo
import pytest
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from letsema_api.registry.bootstrap import ensure_registry, main
from letsema_api.registry.codec import MoneyCodec, RegistryDocumentError, detect_money_encoding
from letsema_api.registry.mongo import MongoCreditRegistry, RegistryWriteConflict
from letsema_api.registry.schema import ACCOUNTS, DISPUTES, INDEXES, INQUIRIES, account_id, account_revision_id
from pymongo.database import Database

from letsema_core.credit import AccountMismatch, CreditAccountEvent, CreditAccountStatus
from letsema_core.testing import InMemoryCreditRegistry
from tests.contracts import trap_float_operations  # noqa: F401  (autouse: floats fail loudly here too)
from tests.contracts.credit_registry import KEY, CreditRegistryContract, account_event, inquiry

pytestmark = pytest.mark.integration

Document = dict[str, Any]


@pytest.fixture(scope="module")
def mongo_client(mongo_url: str) -> Iterator[pymongo.MongoClient[Document]]:
    client: pymongo.MongoClient[Document] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()


@pytest.fixture(scope="module")
def server_is_ferretdb(mongo_client: pymongo.MongoClient[Document]) -> bool:
    return "ferretdbVersion" in mongo_client.admin.command("buildInfo")


@pytest.fixture
def registry_db(mongo_client: pymongo.MongoClient[Document]) -> Iterator[Database[Document]]:
    """A fresh, empty registry database with its indexes, dropped after the test."""
    name = f"test_registry_{uuid.uuid4().hex[:12]}"
    ensure_registry(mongo_client, database=name)
    yield mongo_client[name]
    mongo_client.drop_database(name)


def raw_account(db: Database[Document], *, lender_mfi: str = "khotso", loan_ref: str = "L-1") -> Document:
    """The stored document of an account; after a write completes only its newest revision is left."""
    (document,) = db[ACCOUNTS].find(
        {"country": "LS", "borrower_key": KEY, "lender_mfi": lender_mfi, "loan_ref": loan_ref}
    )
    account = account_id(country="LS", borrower_key=KEY, lender_mfi=lender_mfi, loan_ref=loan_ref)
    assert document["_id"] == account_revision_id(account, document["revision"])
    return document


class TestMongoCreditRegistryContract(CreditRegistryContract):
    @pytest.fixture
    def registry(self, registry_db: Database[Document]) -> MongoCreditRegistry:
        return MongoCreditRegistry(registry_db)


class TestMoneyCodec:
    @pytest.mark.parametrize("amount", ["0.00", "0.01", "945.60", "433.33", "10000.00", "99999999999999.99"])
    @pytest.mark.parametrize("encoding", ["cents", "decimal128"])
    def test_every_amount_round_trips_to_the_cent(self, encoding: Any, amount: str) -> None:
        codec = MoneyCodec(encoding)
        decoded = codec.decode(codec.encode(Decimal(amount)))
        assert decoded == Decimal(amount)
        assert str(decoded) == amount

    def test_cents_are_stored_as_an_int64_count_of_minor_units(self) -> None:
        stored = MoneyCodec("cents").encode(Decimal("945.60"))
        assert isinstance(stored, Int64)
        assert stored == 94560

    def test_decimal128_keeps_two_decimals(self) -> None:
        stored = MoneyCodec("decimal128").encode(Decimal("945.6"))
        assert isinstance(stored, Decimal128)
        assert str(stored) == "945.60"

    @pytest.mark.parametrize("encoding", ["cents", "decimal128"])
    def test_sub_cent_amounts_are_refused_not_rounded(self, encoding: Any) -> None:
        with pytest.raises(RegistryDocumentError, match="whole cents"):
            MoneyCodec(encoding).encode(Decimal("945.605"))

    @pytest.mark.parametrize("stored", [945.6, True, "945.60", None, Decimal128("945.605")])
    def test_stored_money_that_is_not_decimal128_or_cents_is_refused(self, stored: object) -> None:
        with pytest.raises(RegistryDocumentError):
            MoneyCodec.decode(stored)

    def test_an_unknown_encoding_is_refused(self) -> None:
        unknown: Any = "float"
        with pytest.raises(ValueError, match="money encoding"):
            MoneyCodec(unknown)

    def test_ferretdb_build_info_selects_cents_and_mongodb_selects_decimal128(self) -> None:
        assert detect_money_encoding({"version": "7.0.42", "ferretdbVersion": "v1.24.2"}) == "cents"
        assert detect_money_encoding({"version": "7.0.14", "gitVersion": "ce59cfc"}) == "decimal128"


class TestMoneyOnTheServer:
    def test_auto_picks_the_encoding_the_server_supports(
        self, registry_db: Database[Document], server_is_ferretdb: bool
    ) -> None:
        expected = "cents" if server_is_ferretdb else "decimal128"
        assert MongoCreditRegistry(registry_db).money_encoding == expected

    @pytest.mark.parametrize("encoding", ["cents", "decimal128"])
    def test_money_round_trips_to_the_cent_through_the_server(
        self, registry_db: Database[Document], server_is_ferretdb: bool, encoding: str
    ) -> None:
        if encoding == "decimal128" and server_is_ferretdb:
            # FerretDB 1.x drops the connection on a Decimal128 value: what matters is that auto never
            # chooses it there (real MongoDB runs this case in CI).
            assert MongoCreditRegistry(registry_db).money_encoding == "cents"
            return
        registry = MongoCreditRegistry(registry_db, money_encoding=encoding)
        registry.record_account_event(
            account_event(
                principal="12345.67",
                outstanding_balance="0.01",
                installment_amount="99.99",
                repayment_frequency="weekly",
            )
        )
        (account,) = registry.credit_file(country="LS", borrower_key=KEY).accounts
        assert (account.principal, account.outstanding_balance, account.installment_amount) == (
            Decimal("12345.67"),
            Decimal("0.01"),
            Decimal("99.99"),
        )
        stored = raw_account(registry_db)
        kind = Int64 if encoding == "cents" else Decimal128
        assert all(
            isinstance(stored[name], kind)
            for name in ("principal", "outstanding_balance", "installment_amount", "monthly_installment")
        )
        assert MoneyCodec.decode(stored["monthly_installment"]) == Decimal("433.29")  # 99.99 × 52 / 12

    def test_cents_written_by_one_registry_are_read_by_one_configured_for_decimal128(
        self, registry_db: Database[Document]
    ) -> None:
        MongoCreditRegistry(registry_db, money_encoding="cents").record_account_event(account_event())
        reader = MongoCreditRegistry(registry_db, money_encoding="decimal128")
        (account,) = reader.credit_file(country="LS", borrower_key=KEY).accounts
        assert account.principal == Decimal("10000.00")
        assert raw_account(registry_db)["principal"] == 1_000_000


class TestIdempotentOrderSafeWrites:
    def test_the_same_event_twice_writes_once(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        event = account_event(days_past_due=4)
        registry.record_account_event(event)
        first = raw_account(registry_db)
        registry.record_account_event(event)
        assert raw_account(registry_db) == first
        assert (first["revision"], first["last_sequence"], first["last_event_id"]) == (1, 1, event.event_id)
        assert registry_db[ACCOUNTS].count_documents({}) == 1

    def test_an_older_event_merges_history_but_keeps_the_newer_state(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        newer = account_event(event_type="repayment", sequence=3, as_of=date(2026, 4, 2), outstanding_balance="8000.00")
        registry.record_account_event(newer)
        registry.record_account_event(
            account_event(event_type="arrears_changed", sequence=2, as_of=date(2026, 3, 20), days_past_due=38)
        )
        stored = raw_account(registry_db)
        assert MoneyCodec.decode(stored["outstanding_balance"]) == Decimal("8000.00")
        assert (stored["last_sequence"], stored["last_event_id"], stored["days_past_due"]) == (3, newer.event_id, 0)
        assert stored["dpd_by_month"] == {"2026-03": 38, "2026-04": 0}
        assert (stored["worst_days_past_due"], stored["revision"]) == (38, 2)
        assert stored["last_updated_on"] == "2026-04-02"

    def test_an_event_of_the_same_loan_under_another_borrower_is_refused(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        registry.record_account_event(account_event())
        with pytest.raises(AccountMismatch):
            registry.record_account_event(account_event(borrower_key="bk-someone-else", sequence=2))
        assert registry_db[ACCOUNTS].count_documents({}) == 1
        assert registry.credit_file(country="LS", borrower_key="bk-someone-else").accounts == ()

    def test_dates_are_iso_strings_and_instants_utc_datetimes(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        registry.record_account_event(account_event(status="written_off", days_past_due=95))
        at = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)
        registry.record_inquiry(inquiry("I-1", at=at))
        stored = raw_account(registry_db)
        assert (stored["opened_on"], stored["written_off_on"]) == ("2026-01-10", "2026-01-10")
        raw_inquiry = registry_db[INQUIRIES].find_one({"_id": "I-1"})
        assert raw_inquiry is not None
        assert raw_inquiry["at"] == at.replace(tzinfo=None)  # BSON datetime, read here without tz_aware
        assert registry.credit_file(country="LS", borrower_key=KEY).inquiries[0].at == at

    def test_a_naive_inquiry_time_is_refused(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        with pytest.raises(RegistryDocumentError, match="timezone-aware"):
            registry.record_inquiry(inquiry("I-1", at=datetime(2026, 3, 1, 10, 0)))
        assert registry_db[INQUIRIES].count_documents({}) == 0


class StaleFirstRead:
    """A ``credit_accounts`` collection whose first ``find_one`` returns a snapshot taken earlier: a relay
    that read the account, then stalled while others wrote (the write loop's rarest path, made certain)."""

    def __init__(self, collection: Any, stale: Document) -> None:
        self._collection = collection
        self._stale: Document | None = stale

    def find_one(self, *args: Any, **kwargs: Any) -> Any:
        if self._stale is not None:
            stale, self._stale = self._stale, None
            return stale
        return self._collection.find_one(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


class StalledRegistry(MongoCreditRegistry):
    def __init__(self, database: Database[Document], stale: Document, **options: Any) -> None:
        super().__init__(database, **options)
        self._stalled_accounts = StaleFirstRead(super()._accounts, stale)

    @property
    def _accounts(self) -> Any:
        return self._stalled_accounts


class TestStalledRelays:
    def test_a_relay_that_read_long_ago_still_gets_its_event_merged(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        registry.record_account_event(account_event())
        revision_one = raw_account(registry_db)
        registry.record_account_event(account_event(event_type="repayment", sequence=2, as_of=date(2026, 2, 10)))
        registry.record_account_event(account_event(event_type="repayment", sequence=3, as_of=date(2026, 3, 10)))
        assert raw_account(registry_db)["revision"] == 3  # revisions 1 and 2 were cleaned up
        late = account_event(event_type="arrears_changed", sequence=2, as_of=date(2026, 2, 25), days_past_due=15)
        # It read revision 1, so it writes revision 2 (free again), sees 3, drops its own and merges into 3.
        StalledRegistry(registry_db, revision_one).record_account_event(late)
        stored = raw_account(registry_db)
        assert stored["revision"] == 4
        assert (stored["last_sequence"], stored["days_past_due"], stored["worst_days_past_due"]) == (3, 0, 15)
        assert stored["dpd_by_month"] == {"2026-01": 0, "2026-02": 15, "2026-03": 0}

    def test_a_relay_that_keeps_losing_the_race_gives_up_with_a_retryable_error(
        self, registry_db: Database[Document]
    ) -> None:
        registry = MongoCreditRegistry(registry_db)
        registry.record_account_event(account_event())
        registry.record_account_event(account_event(event_type="repayment", sequence=2, as_of=date(2026, 2, 10)))
        revision_two = raw_account(registry_db)
        registry.record_account_event(account_event(event_type="repayment", sequence=3, as_of=date(2026, 3, 10)))
        late = account_event(event_type="arrears_changed", sequence=4, as_of=date(2026, 4, 1), days_past_due=9)
        with pytest.raises(RegistryWriteConflict) as conflict:
            StalledRegistry(registry_db, revision_two, max_attempts=1).record_account_event(late)
        assert conflict.value.code == "registry_write_conflict"
        assert raw_account(registry_db)["last_sequence"] == 3
        registry.record_account_event(late)  # the relay's retry
        assert raw_account(registry_db)["last_sequence"] == 4


def _history_events(loan_ref: str, count: int) -> list[CreditAccountEvent]:
    """``count`` events of one loan: balances falling, DPD rising and falling across the months."""
    events = []
    for sequence in range(1, count + 1):
        month = 1 + (sequence - 1) % 12
        events.append(
            account_event(
                event_type="account_opened" if sequence == 1 else "repayment",
                loan_ref=loan_ref,
                sequence=sequence,
                as_of=date(2026 + (sequence - 1) // 12, month, 10),
                outstanding_balance=str(Decimal("10000.00") - Decimal("100.00") * sequence),
                days_past_due=(sequence * 7) % 45,
                status="closed" if sequence == count else "active",
            )
        )
    return events


_event_specs = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=8),  # sequence
        st.integers(min_value=0, max_value=120),  # days past due
        st.integers(min_value=0, max_value=999_999),  # outstanding balance in cents
        st.sampled_from(["active", "closed", "written_off"]),
        st.integers(min_value=0, max_value=300),  # days after opening
    ),
    min_size=1,
    max_size=8,
)


class TestSameAsTheInMemoryRegistry:
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],  # each example uses its own loan
    )
    @given(specs=_event_specs, repeats=st.lists(st.integers(min_value=0, max_value=7), max_size=4))
    def test_any_events_in_any_order_with_repeats_give_the_fakes_account(
        self, registry_db: Database[Document], specs: list[tuple[int, int, int, str, int]], repeats: list[int]
    ) -> None:
        loan_ref = f"H-{uuid.uuid4().hex[:10]}"
        events = [
            account_event(
                event_type="repayment",
                loan_ref=loan_ref,
                sequence=sequence,
                as_of=date.fromordinal(date(2026, 1, 10).toordinal() + days),
                outstanding_balance=Decimal(cents).scaleb(-2),
                status=status,
                days_past_due=dpd,
            )
            for sequence, dpd, cents, status, days in specs
        ]
        events += [events[index % len(events)] for index in repeats]
        registry, fake = MongoCreditRegistry(registry_db), InMemoryCreditRegistry()
        for event in events:
            registry.record_account_event(event)
            fake.record_account_event(event)
        mine = [a for a in registry.credit_file(country="LS", borrower_key=KEY).accounts if a.loan_ref == loan_ref]
        assert mine == list(fake.credit_file(country="LS", borrower_key=KEY).accounts)


class TestConcurrentRelays:
    def test_relays_applying_the_same_events_in_different_orders_converge(
        self, mongo_url: str, registry_db: Database[Document]
    ) -> None:
        events = _history_events("L-C", 24)
        expected = InMemoryCreditRegistry()
        for event in events:
            expected.record_account_event(event)
        errors: list[BaseException] = []
        start = threading.Barrier(4)

        def relay(seed: int) -> None:
            client: pymongo.MongoClient[Document] = pymongo.MongoClient(mongo_url, serverSelectionTimeoutMS=10_000)
            try:
                registry = MongoCreditRegistry(client[registry_db.name])
                mine = list(events)
                random.Random(seed).shuffle(mine)
                start.wait()
                for event in mine:
                    registry.record_account_event(event)
            except BaseException as exc:  # reported to the test thread below
                errors.append(exc)
            finally:
                client.close()

        threads = [threading.Thread(target=relay, args=(seed,)) for seed in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        mongo_file = MongoCreditRegistry(registry_db).credit_file(country="LS", borrower_key=KEY)
        assert mongo_file == expected.credit_file(country="LS", borrower_key=KEY)
        (account,) = mongo_file.accounts
        assert (account.status, account.last_sequence) == (CreditAccountStatus.CLOSED, 24)
        assert registry_db[ACCOUNTS].count_documents({}) == 1


class TestIndexes:
    def test_bootstrap_creates_every_index_with_its_keys(self, registry_db: Database[Document]) -> None:
        for spec in INDEXES:
            indexes = {index["name"]: index for index in registry_db[spec.collection].list_indexes()}
            assert spec.name in indexes, f"{spec.collection}.{spec.name} missing"
            assert list(indexes[spec.name]["key"].items()) == list(spec.keys)
            assert bool(indexes[spec.name].get("unique", False)) is spec.unique

    def test_the_adapter_can_create_its_indexes_in_a_fresh_database(
        self, mongo_client: pymongo.MongoClient[Document]
    ) -> None:
        name = f"test_registry_{uuid.uuid4().hex[:12]}"
        try:
            MongoCreditRegistry(mongo_client[name]).ensure_indexes()
            names = {
                (spec.collection, index["name"])
                for spec in INDEXES
                for index in mongo_client[name][spec.collection].list_indexes()
            }
        finally:
            mongo_client.drop_database(name)
        assert {(spec.collection, spec.name) for spec in INDEXES} <= names

    def test_every_credit_file_index_starts_with_the_shard_key(self) -> None:
        for spec in INDEXES:
            if spec.collection in (ACCOUNTS, INQUIRIES, DISPUTES) and spec.name != "lender_loan":
                assert spec.keys[:2] == (("country", 1), ("borrower_key", 1))

    def test_bootstrap_twice_sends_nothing_the_second_time(self, mongo_client: pymongo.MongoClient[Document]) -> None:
        name = f"test_registry_{uuid.uuid4().hex[:12]}"
        try:
            first = ensure_registry(mongo_client, database=name)
            second = ensure_registry(mongo_client, database=name)
        finally:
            mongo_client.drop_database(name)
        assert first.mode == second.mode == "plain"
        assert [command.name for command in first.commands] == ["createIndexes"] * 3
        assert second.commands == []
        assert len(second.skipped) == len(INDEXES)

    def test_the_credit_file_query_uses_the_borrower_index(
        self, registry_db: Database[Document], server_is_ferretdb: bool
    ) -> None:
        MongoCreditRegistry(registry_db).record_account_event(account_event())
        query = registry_db[ACCOUNTS].find({"country": "LS", "borrower_key": KEY})
        plan = query.sort([("lender_mfi", 1), ("loan_ref", 1), ("revision", -1)]).explain()  # credit_file's
        if server_is_ferretdb:
            # FerretDB 1.24 on SQLite plans in SQLite and reports no index use at all (its plan is a
            # table SCAN with pushdown flags); the index specs are checked above. Real MongoDB: below.
            assert "filterPushdown" in plan
            return
        assert "'indexName': 'borrower_accounts'" in str(plan["queryPlanner"]["winningPlan"])


class TestBootstrapCommandLine:
    def test_dry_run_prints_the_plan_and_creates_nothing_then_a_real_run_creates_the_indexes(
        self, mongo_url: str, mongo_client: pymongo.MongoClient[Document], capsys: pytest.CaptureFixture[str]
    ) -> None:
        name = f"test_registry_{uuid.uuid4().hex[:12]}"
        try:
            assert main(["--mongo-url", mongo_url, "--database", name, "--dry-run"]) == 0
            planned = capsys.readouterr().out
            assert name not in mongo_client.list_database_names()
            assert main(["--mongo-url", mongo_url, "--database", name]) == 0
            done = capsys.readouterr().out
            names = {index["name"] for index in mongo_client[name][ACCOUNTS].list_indexes()}
        finally:
            mongo_client.drop_database(name)
        assert f"registry bootstrap of '{name}' on a plain server (indexes only): would send 3 command(s)" in planned
        assert '"createIndexes": "credit_accounts"' in planned
        assert "sent 3 command(s)" in done
        assert {"borrower_accounts", "lender_loan"} <= names

    def test_an_unreachable_server_fails_with_a_clear_message(self, capsys: pytest.CaptureFixture[str]) -> None:
        from letsema_dev.procs import free_port

        assert main(["--mongo-url", f"mongodb://127.0.0.1:{free_port()}/", "--timeout", "0.3"]) == 1
        assert "registry bootstrap failed talking to" in capsys.readouterr().err


class TestBatches:
    """``record_account_events`` (the relay's batch): the same accounts as one event at a time, one revision
    written per account, and a batch repeated after a crash changes nothing."""

    @staticmethod
    def _events() -> list[CreditAccountEvent]:
        # Three loans' histories interleaved out of order, with repeats.
        histories = [_history_events(f"L-B{n}", 6) for n in range(3)]
        events = [event for round_ in zip(*histories, strict=True) for event in round_]
        random.Random(6).shuffle(events)
        return events + events[:4]

    @staticmethod
    def _fake(events: list[CreditAccountEvent]) -> InMemoryCreditRegistry:
        fake = InMemoryCreditRegistry()
        for event in events:
            fake.record_account_event(event)
        return fake

    def test_a_batch_gives_the_fakes_accounts_with_one_revision_each(self, registry_db: Database[Document]) -> None:
        events = self._events()
        registry = MongoCreditRegistry(registry_db)
        assert registry.record_account_events(events) == [None] * len(events)
        fake = self._fake(events)
        assert registry.credit_file(country="LS", borrower_key=KEY) == fake.credit_file(country="LS", borrower_key=KEY)
        assert registry_db[ACCOUNTS].count_documents({}) == 3
        for n in range(3):
            assert raw_account(registry_db, loan_ref=f"L-B{n}")["revision"] == 1  # one write per account

    def test_a_batch_sent_again_after_a_crash_in_the_middle_applies_nothing_twice(
        self, registry_db: Database[Document]
    ) -> None:
        events = self._events()
        registry = MongoCreditRegistry(registry_db)
        # The relay wrote the first half, then died before marking anything published: it sends all again.
        registry.record_account_events(events[: len(events) // 2])
        assert registry.record_account_events(events) == [None] * len(events)
        expected = self._fake(events).credit_file(country="LS", borrower_key=KEY)
        assert registry.credit_file(country="LS", borrower_key=KEY) == expected
        stored = list(registry_db[ACCOUNTS].find({}).sort("_id"))
        assert registry.record_account_events(events) == [None] * len(events)
        assert list(registry_db[ACCOUNTS].find({}).sort("_id")) == stored  # a third time writes nothing

    def test_an_account_whose_revision_another_writer_took_goes_one_event_at_a_time(
        self, registry_db: Database[Document], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events = self._events()
        registry, rival = MongoCreditRegistry(registry_db), MongoCreditRegistry(registry_db)
        registry.record_account_events([e for e in events if e.loan_ref == "L-B0"][:2])
        late = _history_events("L-B0", 7)[-1]
        original = MongoCreditRegistry._insert_revisions

        def rival_first(self: MongoCreditRegistry, revisions: Any) -> set[str]:
            rival.record_account_event(late)  # takes L-B0's next revision between our read and our insert
            return original(self, revisions)

        monkeypatch.setattr(MongoCreditRegistry, "_insert_revisions", rival_first)
        assert registry.record_account_events(events) == [None] * len(events)
        expected = self._fake([*events, late]).credit_file(country="LS", borrower_key=KEY)
        assert registry.credit_file(country="LS", borrower_key=KEY) == expected
        assert registry_db[ACCOUNTS].count_documents({"loan_ref": "L-B0"}) == 1

    def test_an_event_of_a_loan_under_another_borrower_is_refused_and_the_rest_written(
        self, registry_db: Database[Document]
    ) -> None:
        registry = MongoCreditRegistry(registry_db)
        registry.record_account_event(account_event(loan_ref="L-X"))
        stray = account_event(loan_ref="L-X", borrower_key="another-key", sequence=2)
        fine = account_event(loan_ref="L-Y")
        outcomes = registry.record_account_events([stray, fine])
        assert isinstance(outcomes[0], AccountMismatch)
        assert outcomes[1] is None
        assert {a.loan_ref for a in registry.credit_file(country="LS", borrower_key=KEY).accounts} == {"L-X", "L-Y"}


class TestCreditFileSideQueries:
    """``credit_file`` sends its inquiry and dispute queries on pool threads beside the account query."""

    def test_files_read_from_many_threads_at_once_are_each_complete(self, registry_db: Database[Document]) -> None:
        registry = MongoCreditRegistry(registry_db)
        keys = [f"key-{n}" for n in range(6)]
        for n, key in enumerate(keys):
            for m in range(n + 1):
                registry.record_account_event(account_event(borrower_key=key, loan_ref=f"L-{n}-{m}"))
                registry.record_inquiry(
                    inquiry(f"I-{n}-{m}", at=datetime(2026, 3, 1 + m, tzinfo=UTC), borrower_key=key)
                )
        expected = {key: registry.credit_file(country="LS", borrower_key=key) for key in keys}
        assert [len(expected[key].accounts) for key in keys] == [1, 2, 3, 4, 5, 6]
        assert [len(expected[key].inquiries) for key in keys] == [1, 2, 3, 4, 5, 6]
        seen: dict[int, list[bool]] = {}

        def read(worker: int) -> None:
            seen[worker] = [registry.credit_file(country="LS", borrower_key=key) == expected[key] for key in keys * 3]

        threads = [threading.Thread(target=read, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == {n: [True] * 18 for n in range(6)}

    def test_a_failed_side_query_is_raised_by_credit_file(
        self, registry_db: Database[Document], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        class Refusing:
            def find(self, *args: Any, **kwargs: Any) -> Any:
                raise pymongo.errors.AutoReconnect("the registry went away")

        monkeypatch.setattr(MongoCreditRegistry, "_disputes", property(lambda self: Refusing()))
        with pytest.raises(pymongo.errors.AutoReconnect, match="went away"):
            MongoCreditRegistry(registry_db).credit_file(country="LS", borrower_key=KEY)

    def test_a_forked_child_makes_its_own_threads(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from letsema_api.registry import mongo

        parent = mongo._lookup_pool()
        assert mongo._lookup_pool() is parent
        monkeypatch.setattr(mongo.os, "getpid", lambda: -1)
        assert mongo._lookup_pool() is not parent
