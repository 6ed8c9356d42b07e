"""``MongoCreditRegistry``: the core's ``CreditRegistry`` port on MongoDB (or a MongoDB-protocol server).

Writes are safe to repeat, reorder and run concurrently, without multi-document transactions (FerretDB
1.x has none), without ``$max`` on upsert (FerretDB ignores it) and without relying on a conditional
update being atomic (FerretDB 1.24 reads and writes in two steps: four threads doing a compare-and-set
``update_one`` on one document all "won" 200 times for 85 increments, seen here). The one atomic
primitive every server gives is a unique ``_id``, so:

- an account event is applied with the core's ``apply_account_event`` (the one merge rule) in a loop:
  read the account's newest revision, merge, and insert the merge as the next revision (``_id``
  ``<account>#<revision>``). A lost race (``DuplicateKeyError``) re-reads and merges again. After the
  insert the writer checks that no newer revision exists (a writer that read long ago may reuse a
  revision number an earlier cleanup freed; merging is idempotent, so it simply merges again into the
  newest), then deletes the revisions below its own. Concurrent relays therefore never lose an event,
  and an event that changes nothing writes nothing.
- inquiries and disputes are inserted with their own id as ``_id``; a duplicate is a no-op.

Every account, inquiry and dispute query carries ``{country, borrower_key}`` (the shard key), except
two rare ones noted in ``schema.py``: the "same loan under another borrower" check when an account is
opened, and ``resolve_dispute``, which the port addresses by dispute id only.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING, DeleteMany, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from letsema_api.registry.codec import (
    MONEY_ENCODINGS,
    MoneyCodec,
    MoneyEncoding,
    account_from_document,
    account_to_document,
    detect_money_encoding,
    dispute_from_document,
    dispute_to_document,
    inquiry_from_document,
    inquiry_to_document,
)
from letsema_api.registry.schema import (
    ACCOUNTS,
    DEFAULT_DATABASE,
    DISPUTES,
    INQUIRIES,
    account_id,
    account_revision_id,
)
from letsema_core.credit import (
    CreditAccount,
    CreditAccountEvent,
    CreditDispute,
    CreditFile,
    CreditInquiry,
    DisputeStatus,
    apply_account_event,
)
from letsema_core.errors import DomainError, InvalidTransition, NotFound

DEFAULT_MAX_ATTEMPTS: Final = 100


_lookup_threads: ThreadPoolExecutor | None = None
_lookup_threads_pid = 0
_lookup_threads_lock = threading.Lock()


def _lookup_pool() -> ThreadPoolExecutor:
    """The process's threads for a credit file's side queries, made on first use (never at import time) and
    made again in a forked child (gunicorn's workers), whose copy of the parent's threads does not run."""
    global _lookup_threads, _lookup_threads_pid
    with _lookup_threads_lock:
        if _lookup_threads is None or _lookup_threads_pid != os.getpid():
            _lookup_threads = ThreadPoolExecutor(max_workers=4, thread_name_prefix="registry-lookup")
            _lookup_threads_pid = os.getpid()
        return _lookup_threads


class RegistryWriteConflict(DomainError):
    """A write lost the optimistic-concurrency race more times than allowed; retrying later is safe."""

    code = "registry_write_conflict"
    http_status = 503


#: MongoDB's duplicate key error code (a ``BulkWriteError`` lists one per refused document).
_DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class _Revision:
    """One account's next revision in a batch: the merge of its events in the batch into its newest one."""

    key: dict[str, str]
    revision: int
    document: dict[str, Any]
    positions: list[int]


class MongoCreditRegistry:
    """The shared credit registry on a pymongo ``Database`` (see the module docstring for the rules).

    ``money_encoding``: ``"auto"`` (the default) asks the server's ``buildInfo`` on the first write and
    picks ``cents`` on FerretDB, ``decimal128`` elsewhere; or name one. Reading accepts both. The
    constructor does no I/O, so a registry outage never fails the construction of a service.
    """

    def __init__(
        self,
        database: Database[Any],
        *,
        money_encoding: MoneyEncoding | str = "auto",
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        if money_encoding != "auto" and money_encoding not in MONEY_ENCODINGS:
            raise ValueError(f"money_encoding must be auto, {' or '.join(MONEY_ENCODINGS)}; got {money_encoding!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # Instants come back timezone-aware in UTC, as the core's values carry them.
        self._db: Database[Any] = database.with_options(codec_options=CodecOptions(tz_aware=True, tzinfo=UTC))
        self._requested_encoding = money_encoding
        self._codec: MoneyCodec | None = (
            None if money_encoding == "auto" else MoneyCodec(money_encoding)  # type: ignore[arg-type]
        )
        self._codec_lock = threading.Lock()
        self._max_attempts = max_attempts

    @classmethod
    def from_client(
        cls, client: MongoClient[Any], *, database: str = DEFAULT_DATABASE, **options: Any
    ) -> MongoCreditRegistry:
        """The registry in ``database`` (default ``letsema_registry``) of ``client``."""
        return cls(client[database], **options)

    @property
    def database(self) -> Database[Any]:
        return self._db

    @property
    def money_encoding(self) -> MoneyEncoding:
        """The encoding new money values are written with (asks the server once when ``auto``)."""
        return self._money_codec().encoding

    def _money_codec(self) -> MoneyCodec:
        if self._codec is None:
            with self._codec_lock:
                if self._codec is None:
                    self._codec = MoneyCodec(detect_money_encoding(self._db.command("buildInfo")))
        return self._codec

    @property
    def _accounts(self) -> Collection[Any]:
        return self._db[ACCOUNTS]

    @property
    def _inquiries(self) -> Collection[Any]:
        return self._db[INQUIRIES]

    @property
    def _disputes(self) -> Collection[Any]:
        return self._db[DISPUTES]

    def ensure_indexes(self) -> None:
        """Create the registry's indexes in this database (plain path of ``bootstrap.ensure_registry``)."""
        from letsema_api.registry.bootstrap import ensure_registry

        ensure_registry(self._db.client, database=self._db.name)

    # --- accounts -------------------------------------------------------------------------------------

    def record_account_event(self, event: CreditAccountEvent) -> None:
        """Merge ``event`` into its loan's account with ``apply_account_event``.

        Idempotent and order-safe. Raises ``AccountMismatch`` if the lender's loan is on file under
        another borrower or country, ``RegistryWriteConflict`` after ``max_attempts`` lost races.
        """
        codec = self._money_codec()
        account = account_id(
            country=event.country,
            borrower_key=event.borrower_key,
            lender_mfi=event.lender_mfi,
            loan_ref=event.loan_ref,
        )
        # The shard key leads every filter: each read and write goes to one shard.
        key = {
            "country": event.country,
            "borrower_key": event.borrower_key,
            "lender_mfi": event.lender_mfi,
            "loan_ref": event.loan_ref,
        }
        for _ in range(self._max_attempts):
            newest = self._accounts.find_one(key, sort=[("revision", DESCENDING)])
            if newest is None:
                self._refuse_loan_of_another_borrower(event)
                merged, revision, last_event_id = apply_account_event(None, event), 1, event.event_id
            else:
                current = account_from_document(newest)
                merged = apply_account_event(current, event)
                if merged == current:
                    return  # a repeated event, or history already merged: nothing to write
                revision = int(newest["revision"]) + 1
                moved = merged.last_sequence != current.last_sequence
                last_event_id = event.event_id if moved else str(newest["last_event_id"])
            document = account_to_document(merged, codec=codec, revision=revision, last_event_id=last_event_id)
            try:
                self._accounts.insert_one({"_id": account_revision_id(account, revision), **document})
            except DuplicateKeyError:
                continue  # another writer took this revision: merge into theirs
            if self._accounts.count_documents({**key, "revision": {"$gt": revision}}, limit=1):
                # Our revision number had been freed by a cleanup: nobody reads below the newest, so drop
                # ours and merge into the newest.
                self._accounts.delete_one({**key, "_id": account_revision_id(account, revision)})
                continue
            self._accounts.delete_many({**key, "revision": {"$lt": revision}})
            return
        raise RegistryWriteConflict(
            "the account kept changing under this write; retry later",
            details={"lender_mfi": event.lender_mfi, "loan_ref": event.loan_ref, "attempts": self._max_attempts},
        )

    def record_account_events(self, events: Sequence[CreditAccountEvent]) -> list[DomainError | None]:
        """``record_account_event`` of each of ``events`` (the relay's batch); returns, per event and in order,
        ``None`` when it is merged or the ``DomainError`` the registry refuses it with (``AccountMismatch``).

        The events of one account are merged together (``apply_account_event``, in the order given) into its
        newest revision and written as ONE next revision; the next revisions of all accounts go in one
        unordered ``insert_many`` and the revisions below them are removed with one ``bulk_write``. So an
        account costs one read and one check instead of a read, an insert, a check and a delete per event.
        An account whose next revision another writer took (a duplicate ``_id``), or whose revision number a
        cleanup had freed (the check), goes through ``record_account_event`` one event at a time, as every
        event did before. Raises what pymongo raises (an outage) and ``RegistryWriteConflict``; then any part
        of the batch may be written, and writing the batch again changes nothing more (the merge is
        idempotent, so the caller may repeat it or send the events one at a time)."""
        codec = self._money_codec()
        outcomes: list[DomainError | None] = [None] * len(events)
        accounts: dict[tuple[str, str, str, str], list[int]] = {}
        for position, event in enumerate(events):
            accounts.setdefault((event.country, event.borrower_key, event.lender_mfi, event.loan_ref), []).append(
                position
            )
        revisions: list[_Revision] = []
        for (country, borrower_key, lender_mfi, loan_ref), positions in accounts.items():
            key = {"country": country, "borrower_key": borrower_key, "lender_mfi": lender_mfi, "loan_ref": loan_ref}
            newest = self._accounts.find_one(key, sort=[("revision", DESCENDING)])
            current = None if newest is None else account_from_document(newest)
            last_event_id = None if newest is None else str(newest["last_event_id"])
            merged: CreditAccount | None = current
            for position in positions:
                event = events[position]
                try:
                    if merged is None:
                        self._refuse_loan_of_another_borrower(event)
                    after = apply_account_event(merged, event)
                except DomainError as refused:
                    outcomes[position] = refused
                    continue
                if merged is None or after.last_sequence != merged.last_sequence:
                    last_event_id = event.event_id
                merged = after
            if merged is None or merged == current or last_event_id is None:
                continue  # every event refused, or all of them merged before: nothing to write
            revision = 1 if newest is None else int(newest["revision"]) + 1
            account = account_id(country=country, borrower_key=borrower_key, lender_mfi=lender_mfi, loan_ref=loan_ref)
            document = account_to_document(merged, codec=codec, revision=revision, last_event_id=last_event_id)
            revisions.append(
                _Revision(key, revision, {"_id": account_revision_id(account, revision), **document}, positions)
            )
        one_at_a_time = self._insert_revisions(revisions)
        cleanups = []
        for written in (r for r in revisions if r.document["_id"] not in one_at_a_time):
            if self._accounts.count_documents({**written.key, "revision": {"$gt": written.revision}}, limit=1):
                # As in record_account_event: our revision number had been freed by a cleanup.
                self._accounts.delete_one({**written.key, "_id": written.document["_id"]})
                one_at_a_time.add(written.document["_id"])
                continue
            cleanups.append(DeleteMany({**written.key, "revision": {"$lt": written.revision}}))
        if cleanups:
            self._accounts.bulk_write(cleanups, ordered=False)
        for retry in (r for r in revisions if r.document["_id"] in one_at_a_time):
            for position in retry.positions:
                if outcomes[position] is not None:
                    continue
                try:
                    self.record_account_event(events[position])
                except RegistryWriteConflict:
                    raise
                except DomainError as refused:
                    outcomes[position] = refused
        return outcomes

    def _insert_revisions(self, revisions: Sequence[_Revision]) -> set[str]:
        """Insert the revisions with one unordered ``insert_many``; returns the ``_id`` of those another writer
        took first (duplicate keys). Any other write error raises."""
        if not revisions:
            return set()
        try:
            self._accounts.insert_many([r.document for r in revisions], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            return {revisions[int(e["index"])].document["_id"] for e in errors}
        return set()

    def _refuse_loan_of_another_borrower(self, event: CreditAccountEvent) -> None:
        other = self._accounts.find_one({"lender_mfi": event.lender_mfi, "loan_ref": event.loan_ref})
        if other is not None:
            # The core rule raises AccountMismatch for an event of another account.
            apply_account_event(account_from_document(other), event)

    # --- inquiries ------------------------------------------------------------------------------------

    def record_inquiry(self, inquiry: CreditInquiry) -> None:
        """Store ``inquiry``; a second call with the same ``inquiry_id`` changes nothing."""
        try:
            self._inquiries.insert_one(inquiry_to_document(inquiry))
        except DuplicateKeyError:
            return

    # --- the credit file ------------------------------------------------------------------------------

    def credit_file(self, *, country: str, borrower_key: str) -> CreditFile:
        """Everything on file for the borrower: three queries on the shard key, each served by an index.

        The inquiry and dispute queries go out on two pool threads while this thread sends the account
        query, so a lookup waits for the slowest of the three round trips, not for their sum. An error of
        any of them is raised here (``registry_calls`` maps an outage to ``RegistryUnavailable``)."""
        borrower = {"country": country, "borrower_key": borrower_key}
        pool = _lookup_pool()
        inquiries = pool.submit(
            lambda: list(self._inquiries.find(borrower).sort([("at", ASCENDING), ("_id", ASCENDING)]))
        )
        disputes = pool.submit(
            lambda: list(self._disputes.find(borrower).sort([("opened_at", ASCENDING), ("_id", ASCENDING)]))
        )
        revisions = self._accounts.find(borrower).sort(
            [("lender_mfi", ASCENDING), ("loan_ref", ASCENDING), ("revision", DESCENDING)]
        )
        accounts = tuple(account_from_document(document) for document in _newest_revisions(revisions))
        return CreditFile(
            country=country,
            borrower_key=borrower_key,
            accounts=accounts,
            inquiries=tuple(inquiry_from_document(document) for document in inquiries.result()),
            disputes=tuple(dispute_from_document(document) for document in disputes.result()),
        )

    # --- disputes -------------------------------------------------------------------------------------

    def open_dispute(self, dispute: CreditDispute) -> None:
        """Store a dispute of an account on file; the same ``dispute_id`` again changes nothing.

        Raises ``NotFound`` when the borrower has no such account.
        """
        account = {
            "country": dispute.country,
            "borrower_key": dispute.borrower_key,
            "lender_mfi": dispute.lender_mfi,
            "loan_ref": dispute.loan_ref,
        }
        if self._accounts.count_documents(account, limit=1) == 0:
            raise NotFound(entity="credit account", key=f"{dispute.lender_mfi}/{dispute.loan_ref}")
        try:
            self._disputes.insert_one(dispute_to_document(dispute))
        except DuplicateKeyError:
            return

    def resolve_dispute(self, *, dispute_id: str, by_mfi: str, resolution: str, at: datetime) -> CreditDispute:
        """Resolve with ``CreditDispute.resolve`` and store it.

        Raises ``NotFound`` for an unknown id, ``DisputeNotOwned`` for another MFI, ``InvalidTransition``
        if it is already resolved (also when a concurrent call resolved it first).
        """
        stored = self._disputes.find_one({"_id": dispute_id})
        if stored is None:
            raise NotFound(entity="credit dispute", key=dispute_id)
        resolved = dispute_from_document(stored).resolve(by_mfi=by_mfi, resolution=resolution, at=at)
        document = dispute_to_document(resolved)
        guard = {
            "country": resolved.country,
            "borrower_key": resolved.borrower_key,
            "_id": dispute_id,
            "status": DisputeStatus.OPEN.value,
        }
        changes = {name: document[name] for name in ("status", "resolved_at", "resolution")}
        if self._disputes.update_one(guard, {"$set": changes}).matched_count == 0:
            raise InvalidTransition(entity="credit dispute", from_state=DisputeStatus.RESOLVED.value, action="resolve")
        return resolved


def _newest_revisions(documents: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """The first document of each account in a stream sorted by account, newest revision first."""
    previous: tuple[Any, Any] | None = None
    for document in documents:
        account = (document["lender_mfi"], document["loan_ref"])
        if account != previous:
            previous = account
            yield document
