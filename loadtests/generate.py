"""National-scale dataset for the benchmark: ``python loadtests/generate.py`` (``make generate``).

Loads, into the benchmark platform (``.letsema-bench/``, see ``letsema_load/benchplatform.py``; started if it is
not running):

- tenant ``khotso``: 1 000 000 borrowers over the ten districts (identifiers and phones as Transit ciphertext with
  Transit HMAC lookup keys, as the API stores them), a consent each, and one active loan each with its schedule,
  repayment history, penalties, arrears state as of the last close of business, the journal entries the API would
  have posted and the registry events its outbox would hold (published);
- the shared registry: the 1 000 000 accounts of those loans plus about 2 000 000 accounts at seven other MFIs,
  held by the same people and 40 % more (about 3 000 000 in all).

``--scale`` multiplies every count (``--scale 0.01`` is a 10 000-borrower dataset in about a minute).

How it is fast: people and loans are built in chunks of ``--chunk`` borrowers by ``letsema_core`` (see
``letsema_load/dataset.py``), PII goes through Transit in batches (``batch_input``), and each chunk is written with
PostgreSQL ``COPY`` in ONE transaction together with its row in ``loadgen_progress``, so a chunk is either all there
or not at all. Registry documents go in with unordered ``insert_many`` under deterministic ``_id``s, and a chunk is
marked done in the registry's ``loadgen_progress`` collection afterwards. Interrupt it at any point and run it again:
it skips the chunks that are done and redoes the one that was in flight. ``--workers`` processes share the chunks.

Deterministic: the same ``--seed``, ``--scale``, ``--chunk`` and ``--as-of`` give the same people, national IDs,
loans and amounts (ciphertexts differ: Transit encryption is randomised by design). Dev platform only: it reads the
dev OpenBao's root token from ``<state>/openbao/init.json`` for the Transit batches.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import fcntl
import json
import math
import multiprocessing as mp
import os
import queue
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from letsema_load.benchplatform import STATE_DIR, bench_env, ensure_up, ferretdb_pushdown_indexes, tenant_django

TENANT = "khotso"
BORROWERS = 1_000_000
#: people in the registry besides the tenant's borrowers (share of BORROWERS)
EXTRA_PEOPLE = 0.4
#: registry accounts at other MFIs
OTHER_ACCOUNTS = 2_000_000
ACTOR = "loadgen"
PROGRESS_TABLE = "loadgen_progress"


@dataclass(frozen=True)
class Plan:
    seed: int
    scale: float
    chunk: int
    as_of: date
    tenant: str

    @property
    def borrowers(self) -> int:
        return max(1, round(BORROWERS * self.scale))

    @property
    def people(self) -> int:
        return self.borrowers + round(self.borrowers * EXTRA_PEOPLE)

    @property
    def other_accounts(self) -> int:
        return round(OTHER_ACCOUNTS * self.scale)

    def chunks(self, total: int) -> int:
        return math.ceil(total / self.chunk)

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "scale": self.scale,
            "chunk": self.chunk,
            "as_of": self.as_of.isoformat(),
            "tenant": self.tenant,
            "borrowers": self.borrowers,
            "loans": self.borrowers,
            "registry_people": self.people,
            "registry_accounts": self.borrowers + self.other_accounts,
        }


# ------------------------------------------------------------------------------------------- Transit batches


class Transit:
    """Transit encrypt and HMAC in batches (one HTTP call per batch instead of one per value)."""

    def __init__(self, addr: str, token: str, *, pii_key: str, hmac_key: str) -> None:
        import requests

        self._session = requests.Session()
        self._session.headers["X-Vault-Token"] = token
        self._addr = addr.rstrip("/")
        self._pii_key = pii_key
        self._hmac_key = hmac_key

    #: OpenBao refuses a JSON body with too many strings ("exceeded maximum number of strings")
    BATCH = 200

    def _post(self, path: str, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for start in range(0, len(items), self.BATCH):
            results.extend(self._post_batch(path, items[start : start + self.BATCH]))
        return results

    def _post_batch(self, path: str, items: list[dict[str, str]]) -> list[dict[str, Any]]:
        for attempt in range(5):
            resp = self._session.post(f"{self._addr}/v1/{path}", json={"batch_input": items}, timeout=120)
            if resp.status_code < 500:
                break
            time.sleep(1 + attempt)
        resp.raise_for_status()
        results: list[dict[str, Any]] = resp.json()["data"]["batch_results"]
        errors = [r["error"] for r in results if r.get("error")]
        if errors:
            raise RuntimeError(f"Transit {path}: {errors[0]} (and {len(errors) - 1} more)")
        return results

    @staticmethod
    def _b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    def encrypt(self, texts: Sequence[str]) -> list[str]:
        items = [{"plaintext": self._b64(t)} for t in texts]
        return [r["ciphertext"] for r in self._post(f"transit/encrypt/{self._pii_key}", items)]

    def hmac(self, messages: Sequence[str]) -> list[str]:
        items = [{"input": self._b64(m)} for m in messages]
        return [r["hmac"] for r in self._post(f"transit/hmac/{self._hmac_key}/sha2-256", items)]


# ----------------------------------------------------------------------------------------------- PostgreSQL


def _columns(model: Any) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _check_columns(model: Any, columns: Sequence[str]) -> None:
    """The hand-written column lists below must match the models (a migration that adds a column fails here)."""
    expected = set(_columns(model))
    if set(columns) != expected:
        raise SystemExit(
            f"loadgen: columns of {model._meta.db_table} changed: model has {sorted(expected)}, "
            f"the generator writes {sorted(columns)}"
        )


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _reserve_ids(cursor: Any, table: str, n: int) -> list[int]:
    """``n`` values of ``table.id``'s sequence (an identity column), for rows that other rows point to."""
    if n == 0:
        return []
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
    return [int(r[0]) for r in cursor.fetchall()]


# ------------------------------------------------------------------------------------------------- workers


@dataclass
class _Env:
    plan: Plan
    transit: Transit
    mongo_db: Any
    money: Any
    products: list[tuple[str, Any]]
    frequency: dict[str, str]


def _setup(plan: Plan, env: dict[str, str]) -> _Env:
    import pymongo
    from django.conf import settings
    from letsema_api.products.models import LoanProduct
    from letsema_api.products.repositories import product_from_row
    from letsema_api.registry.codec import MoneyCodec, detect_money_encoding

    from letsema_dev.platform import HMAC_KEY

    facts = _FACTS
    spec = facts["spec"]
    transit = Transit(facts["vault_addr"], facts["root_token"], pii_key=spec.transit_key, hmac_key=HMAC_KEY)
    client: Any = pymongo.MongoClient(facts["mongo_url"], tz_aware=True, serverSelectionTimeoutMS=20_000)
    db = client[settings.LETSEMA.registry_db]
    money = MoneyCodec(detect_money_encoding(client.admin.command("buildInfo")))
    rows = {row.code: row for row in LoanProduct.objects.filter(code__in=("BIZ-MONTHLY", "GROUP-WEEKLY"))}
    if len(rows) != 2:
        raise SystemExit("loadgen: the demo products BIZ-MONTHLY and GROUP-WEEKLY are missing (seed_demo did not run?)")
    products = [(rows[c].id, product_from_row(rows[c])) for c in ("BIZ-MONTHLY", "GROUP-WEEKLY")]
    frequency = {rows[c].id: rows[c].repayment_frequency for c in rows}
    return _Env(plan, transit, db, money, products, frequency)


_FACTS: dict[str, Any] = {}


def _ensure_progress_table() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # One worker at a time: concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog.
        cursor.execute("SELECT pg_advisory_xact_lock(74657)")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} (stage text NOT NULL, chunk integer NOT NULL, "
            "rows bigint NOT NULL, done_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stage, chunk))"
        )


def _done_tenant_chunks() -> set[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT chunk FROM {PROGRESS_TABLE} WHERE stage = 'tenant'")  # noqa: S608 - a constant
        return {int(r[0]) for r in cursor.fetchall()}


def _done_registry_chunks(db: Any, stage: str) -> set[int]:
    return {int(d["chunk"]) for d in db["loadgen_progress"].find({"stage": stage}, {"chunk": 1})}


def _rng(plan: Plan, stage: str, chunk: int) -> random.Random:
    return random.Random(f"{plan.seed}:{stage}:{chunk}")


def _people(plan: Plan, chunk: int) -> list[Any]:
    from letsema_load import dataset

    rng = _rng(plan, "people", chunk)
    start = chunk * plan.chunk
    return [
        dataset.person(i, rng, seed=plan.seed, as_of=plan.as_of)
        for i in range(start, min(start + plan.chunk, plan.borrowers))
    ]


def _account_document(e: _Env, events: Sequence[Any]) -> dict[str, Any]:
    """The registry document (revision 1) of the account these events build, as the relay would store it."""
    from letsema_api.registry.codec import account_to_document
    from letsema_api.registry.schema import account_id, account_revision_id

    from letsema_core.credit.registry import apply_account_event

    account = None
    for event in events:
        account = apply_account_event(account, event)
    assert account is not None
    doc_id = account_id(
        country=account.country,
        borrower_key=account.borrower_key,
        lender_mfi=account.lender_mfi,
        loan_ref=account.loan_ref,
    )
    return {
        "_id": account_revision_id(doc_id, 1),
        **account_to_document(account, codec=e.money, revision=1, last_event_id=events[-1].event_id),
    }


def _tenant_chunk(e: _Env, chunk: int) -> tuple[int, list[dict[str, Any]]]:
    """Write borrowers, consents, loans (+ schedule, transactions, journal, outbox) of ``chunk`` in one
    transaction; returns the rows written and the registry documents of its loans."""
    from django.db import connection, transaction
    from letsema_api.borrowers import models as bm
    from letsema_api.ledger import models as lm
    from letsema_api.lending import models as lnm
    from letsema_api.lending.repositories import allocation_to_json, close_of_business_marks
    from letsema_api.outbox import models as om
    from letsema_load import dataset
    from psycopg.types.json import Jsonb

    from letsema_core.accounting import JournalEntry, JournalLine
    from letsema_core.accounting.journal import entry_for_transaction, reallocation_entry

    plan = e.plan
    people = _people(plan, chunk)
    rng = _rng(plan, "loans", chunk)
    generated = [dataset.build_loan(rng, person=p, products=e.products, as_of=plan.as_of) for p in people]
    # PII through Transit, in batches: the ID and phone ciphertexts, the ID's keyed hash.
    nid_cipher = e.transit.encrypt([p.national_id for p in people])
    phone_cipher = e.transit.encrypt([p.phone for p in people])
    keys = e.transit.hmac([p.lookup_input for p in people])
    now = datetime.now(UTC)
    created_on = plan.as_of - timedelta(days=400)
    id_rng = _rng(plan, "ids", chunk)

    borrower_cols = [
        "id", "first_name", "last_name", "normalised_name", "date_of_birth", "district", "gender",
        "phone_ciphertext", "monthly_income", "created_by", "created_on", "created_at", "updated_at",
    ]  # fmt: skip
    identifier_cols = ["id", "borrower_id", "type", "ciphertext", "lookup_key", "masked", "position", "added_at"]
    consent_cols = [
        "id", "borrower_id", "purpose", "method", "granted_at", "recorded_by", "reference", "expires_at", "revoked_at",
    ]  # fmt: skip
    loan_cols = [
        "id", "borrower_id", "product_id", "application_ref", "officer", "disbursed_on", "principal", "upfront_fee",
        "late_penalty_percent", "penalty_grace_days", "status", "closed_on", "written_off_on", "days_past_due",
        "worst_days_past_due", "arrears_bucket", "last_close_of_business", "outstanding_principal",
        "penalty_charges", "oldest_unpaid_due_on", "next_penalty_on", "last_transaction_on", "created_at",
        "updated_at",
    ]  # fmt: skip
    installment_cols = [
        "loan_id", "number", "due_date", "principal_due", "interest_due", "fees_due", "penalties_due", "total_due",
        "balance_after", "principal_outstanding", "interest_outstanding", "fees_outstanding", "penalties_outstanding",
    ]  # fmt: skip
    txn_cols = [
        "id", "loan_id", "sequence", "kind", "on", "amount", "principal", "interest", "fees", "penalties",
        "allocation", "idempotency_key", "external_ref", "reverses", "reversed_by", "created_at",
    ]  # fmt: skip
    entry_cols = ["id", "entry_id", "on", "description", "loan_id", "transaction_id", "posted_at"]
    line_cols = ["entry_id", "position", "account_code", "debit", "credit"]
    outbox_cols = [
        "event_id", "event_type", "lender_mfi", "loan_ref", "sequence", "payload", "status", "attempts",
        "last_error", "created_at", "published_at",
    ]  # fmt: skip
    if chunk == 0:
        _check_columns(bm.Borrower, borrower_cols)
        _check_columns(bm.BorrowerIdentifier, identifier_cols)
        _check_columns(bm.Consent, consent_cols)
        _check_columns(lnm.Loan, loan_cols)
        _check_columns(lnm.Installment, ["id", *installment_cols])
        _check_columns(lnm.LoanTransaction, txn_cols)
        _check_columns(lm.JournalEntry, entry_cols)
        _check_columns(lm.JournalLine, ["id", *line_cols])
        _check_columns(om.OutboxEvent, ["id", *outbox_cols])

    borrowers, identifiers, consents, loans, installments, txns, entries, outbox = [], [], [], [], [], [], [], []
    documents: list[dict[str, Any]] = []
    # The books: what the API would have posted per transaction, summed per account into ONE opening-balances
    # entry for the chunk (a migrated portfolio arrives as balances; per-transaction entries would add 36
    # million journal rows that no report reads). Every per-loan entry is built by the core and balanced.
    # The posting rules are linear in the amounts, so the core's entry for the SUM of a kind's transactions
    # has the same account totals as its entries for each one.
    debits: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    credits: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    totals: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: Decimal("0.00")))
    examples: dict[Any, Any] = {}
    for p, g, nid, phone, key in zip(people, generated, nid_cipher, phone_cipher, keys, strict=True):
        borrowers.append(
            (p.borrower_id, p.first_name, p.last_name, p.normalised_name, p.date_of_birth, p.district.value,
             p.gender.value, phone, p.monthly_income, ACTOR, created_on, now, now)
        )  # fmt: skip
        identifiers.append(
            (uuid.UUID(int=id_rng.getrandbits(128), version=4), p.borrower_id, "lesotho_national_id", nid,
             key, "*" * 8 + p.national_id[-4:], 0, now)
        )  # fmt: skip
        consents.append(
            (str(uuid.UUID(int=id_rng.getrandbits(128), version=4)), p.borrower_id, "credit_report",
             "written", now, ACTOR, f"LG-{p.index}", None, None)
        )  # fmt: skip
        loan = g.loan
        loans.append(
            (loan.loan_id, p.borrower_id, loan.product_id, None, g.officer, loan.disbursed_on, loan.principal,
             loan.upfront_fee, loan.late_penalty_percent, loan.penalty_grace_days, loan.status.value, loan.closed_on,
             loan.written_off_on, loan.days_past_due, loan.worst_days_past_due, loan.arrears_bucket.value,
             loan.last_close_of_business, loan.outstanding_principal,
             Jsonb([[c.installment_number, str(c.amount), c.charged_on.isoformat()] for c in loan.penalty_charges]),
             *close_of_business_marks(loan).values(), now, now)
        )  # fmt: skip
        balances = {b.number: b for b in loan.balances}
        for i in loan.schedule.installments:
            b = balances[i.number]
            installments.append(
                (loan.loan_id, i.number, i.due_date, i.principal_due, i.interest_due, i.fees_due, i.penalties_due,
                 i.total_due, i.balance_after, b.principal, b.interest, b.fees, b.penalties)
            )  # fmt: skip
        for t in loan.transactions:
            sums = totals[t.kind]
            for component in ("amount", "principal", "interest", "fees", "penalties"):
                sums[component] += getattr(t, component)
            examples.setdefault(t.kind, t)
            allocation = allocation_to_json(t.allocation)
            txns.append(
                (t.transaction_id, loan.loan_id, t.sequence, t.kind.value, t.on, t.amount, t.principal, t.interest,
                 t.fees, t.penalties, Jsonb(allocation) if allocation is not None else None, t.idempotency_key,
                 t.external_ref, t.reverses, t.reversed_by, now)
            )  # fmt: skip
        for event in g.reallocations:
            _add_lines(
                debits,
                credits,
                reallocation_entry(
                    loan_id=loan.loan_id, reallocation=event.reallocation, on=event.on, caused_by=event.caused_by
                ),
            )
        events = dataset.tenant_events(
            g, borrower_key=key, lender_mfi=plan.tenant, frequency=e.frequency[loan.product_id], as_of=plan.as_of
        )
        for event in events:
            outbox.append(
                (event.event_id, event.event_type.value, event.lender_mfi, event.loan_ref, event.sequence,
                 Jsonb(event.to_dict()), "published", 1, "", now, now)
            )  # fmt: skip
        documents.append(_account_document(e, events))
    for kind, sums in totals.items():
        summed = dataclasses.replace(examples[kind], **sums)
        _add_lines(debits, credits, entry_for_transaction(loan_id="loadgen", transaction=summed))
    written = 0
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor (COPY)
        opening = JournalEntry(
            entry_id=f"loadgen:opening:{chunk}",
            on=plan.as_of,
            description=f"Opening balances of migrated loans (generated chunk {chunk}, {len(loans)} loans)",
            lines=tuple(
                [JournalLine(code, amount, Decimal("0.00")) for code, amount in sorted(debits.items()) if amount]
                + [JournalLine(code, Decimal("0.00"), amount) for code, amount in sorted(credits.items()) if amount]
            ),
        )
        (entry_pk,) = _reserve_ids(cursor, "ledger_journalentry", 1)
        entries.append((entry_pk, opening.entry_id, opening.on, opening.description, None, None, now))
        lines = [
            (entry_pk, position, line.account_code, line.debit, line.credit)
            for position, line in enumerate(opening.lines, start=1)
        ]
        written += _copy(cursor, "borrowers_borrower", borrower_cols, borrowers)
        written += _copy(cursor, "borrowers_borroweridentifier", identifier_cols, identifiers)
        written += _copy(cursor, "borrowers_consent", consent_cols, consents)
        written += _copy(cursor, "lending_loan", loan_cols, loans)
        written += _copy(cursor, "lending_installment", installment_cols, installments)
        written += _copy(cursor, "lending_loantransaction", [f'"{c}"' if c == "on" else c for c in txn_cols], txns)
        written += _copy(cursor, "ledger_journalentry", [f'"{c}"' if c == "on" else c for c in entry_cols], entries)
        written += _copy(cursor, "ledger_journalline", line_cols, lines)
        written += _copy(cursor, "outbox_outboxevent", outbox_cols, outbox)
        cursor.execute(
            f"INSERT INTO {PROGRESS_TABLE} (stage, chunk, rows) VALUES ('tenant', %s, %s)",  # noqa: S608 - a constant
            [chunk, written],
        )
    return written, documents


def _add_lines(debits: dict[str, Decimal], credits: dict[str, Decimal], entry: Any) -> None:
    if entry is None:
        return
    for line in entry.lines:
        debits[line.account_code] += line.debit
        credits[line.account_code] += line.credit


def _insert_documents(db: Any, documents: list[dict[str, Any]]) -> None:
    """Unordered bulk insert; documents already there (a chunk redone after a crash) are skipped."""
    from pymongo.errors import BulkWriteError

    if not documents:
        return
    try:
        db["credit_accounts"].insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        others = [err for err in exc.details.get("writeErrors", []) if err.get("code") != 11000]
        if others:
            raise


def _mark_registry(db: Any, stage: str, chunk: int, count: int) -> None:
    db["loadgen_progress"].replace_one(
        {"_id": f"{stage}:{chunk}"},
        {"_id": f"{stage}:{chunk}", "stage": stage, "chunk": chunk, "documents": count, "done_at": datetime.now(UTC)},
        upsert=True,
    )


def _tenant_registry_chunk(e: _Env, chunk: int) -> int:
    """The registry documents of a tenant chunk written to PostgreSQL by an earlier, interrupted run."""
    from letsema_load import dataset

    plan = e.plan
    people = _people(plan, chunk)
    rng = _rng(plan, "loans", chunk)
    generated = [dataset.build_loan(rng, person=p, products=e.products, as_of=plan.as_of) for p in people]
    keys = e.transit.hmac([p.lookup_input for p in people])
    documents = []
    for g, key in zip(generated, keys, strict=True):
        events = dataset.tenant_events(
            g, borrower_key=key, lender_mfi=plan.tenant, frequency=e.frequency[g.loan.product_id], as_of=plan.as_of
        )
        documents.append(_account_document(e, events))
    _insert_documents(e.mongo_db, documents)
    return len(documents)


def _others_chunk(e: _Env, chunk: int) -> int:
    """Accounts at other MFIs: ``chunk`` of ``plan.other_accounts``, each held by a random person."""
    from letsema_load import dataset

    plan = e.plan
    rng = _rng(plan, "others", chunk)
    start = chunk * plan.chunk
    indexes = list(range(start, min(start + plan.chunk, plan.other_accounts)))
    holders = [rng.randrange(plan.people) for _ in indexes]
    unique = sorted(set(holders))
    key_of = dict(
        zip(unique, e.transit.hmac([f"LS:NID:{dataset.national_id(h, seed=plan.seed)}" for h in unique]), strict=True)
    )
    documents = []
    for index, holder in zip(indexes, holders, strict=True):
        _, events = dataset.other_account(rng, account=index, borrower_key=key_of[holder], as_of=plan.as_of)
        documents.append(_account_document(e, events))
    _insert_documents(e.mongo_db, documents)
    return len(documents)


def _worker(worker: int, workers: int, plan: Plan, env: dict[str, str], progress: Any) -> None:
    global _FACTS
    try:
        with tenant_django(plan.tenant, env) as facts:
            from django.db import connection

            _FACTS = facts
            e = _setup(plan, env)
            _ensure_progress_table()
            tenant_done = _done_tenant_chunks()
            registry_done = _done_registry_chunks(e.mongo_db, "tenant")
            parent = os.getppid()
            for chunk in range(worker, plan.chunks(plan.borrowers), workers):
                if os.getppid() != parent:
                    return  # the parent is gone (killed): stop instead of loading on unseen
                size = min(plan.chunk, plan.borrowers - chunk * plan.chunk)
                if chunk not in tenant_done:
                    _, documents = _tenant_chunk(e, chunk)
                    _insert_documents(e.mongo_db, documents)
                    _mark_registry(e.mongo_db, "tenant", chunk, len(documents))
                elif chunk not in registry_done:
                    _mark_registry(e.mongo_db, "tenant", chunk, _tenant_registry_chunk(e, chunk))
                # A fresh connection per chunk: each asks for the current dynamic credential, which is how a
                # lease gets renewed (or replaced) before Vault revokes it during a long load.
                connection.close()
                progress.put(("tenant", worker, size))
            others_done = _done_registry_chunks(e.mongo_db, "others")
            for chunk in range(worker, plan.chunks(plan.other_accounts), workers):
                if os.getppid() != parent:
                    return
                size = min(plan.chunk, plan.other_accounts - chunk * plan.chunk)
                if chunk not in others_done:
                    _mark_registry(e.mongo_db, "others", chunk, _others_chunk(e, chunk))
                progress.put(("others", worker, size))
        progress.put(("done", worker, 0))
    except BaseException as exc:  # report it to the parent, which stops the others
        import traceback

        progress.put(("error", worker, f"{exc!r}\n{traceback.format_exc()}"))
        raise


# ----------------------------------------------------------------------------------------------------- main


def _analyze(plan: Plan, env: dict[str, str]) -> dict[str, int]:
    """VACUUM ANALYZE the loaded tables (fresh statistics and visibility map for the benchmark) and count rows."""
    from letsema_dev.stack import TENANTS, Context

    ctx = Context.load(Path(env["LETSEMA_STATE_DIR"]))
    counts: dict[str, int] = {}
    dbname = next(t.database for t in TENANTS if t.tenant_id == plan.tenant)
    with ctx.primary.connect(dbname) as conn:
        conn.autocommit = True
        for table in (
            "borrowers_borrower", "borrowers_borroweridentifier", "borrowers_consent", "lending_loan",
            "lending_installment", "lending_loantransaction", "ledger_journalentry", "ledger_journalline",
            "outbox_outboxevent",
        ):  # fmt: skip
            conn.execute(f"VACUUM (ANALYZE) {table}")
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - our table names
            counts[table] = int(row[0]) if row else 0
    return counts


def _bootstrap_registry(env: dict[str, str]) -> None:
    """The registry's indexes before the bulk load (``letsema_api.registry.bootstrap``; idempotent)."""
    import subprocess

    from letsema_dev.stack import Context

    ctx = Context.load(Path(env["LETSEMA_STATE_DIR"]))
    done = subprocess.run(
        [sys.executable, "-m", "letsema_api.registry.bootstrap", "--mongo-url", ctx.mongo_url, "--timeout", "30"],
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "api")},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise SystemExit(f"loadgen: registry bootstrap failed:\n{done.stdout}{done.stderr}")
    print(
        f"loadgen: registry bootstrap: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else 'ok'}",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--state-dir", type=Path, default=STATE_DIR, help="the platform to load (default .letsema-bench)"
    )
    parser.add_argument("--seed", type=int, default=20261126, help="the dataset's seed (default 20261126)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every count (default 1.0: 1M borrowers)")
    parser.add_argument("--chunk", type=int, default=5000, help="borrowers or accounts per chunk and transaction")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="the last business date closed in the data (default: yesterday)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2, help="loader processes (default 2)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10:
        parser.error("--scale must be in (0, 10]")
    if args.chunk < 1 or args.workers < 1:
        parser.error("--chunk and --workers must be at least 1")
    env = bench_env(args.state_dir)
    manifest_path = args.state_dir / "dataset.json"
    as_of = args.as_of
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        as_of = as_of or date.fromisoformat(previous["as_of"])
    # Yesterday in the tenant's time zone (the API's business date is Maseru's, UTC+2).
    as_of = as_of or (datetime.now(ZoneInfo("Africa/Maseru")).date() - timedelta(days=1))
    plan = Plan(seed=args.seed, scale=args.scale, chunk=args.chunk, as_of=as_of, tenant=TENANT)
    if manifest_path.exists():
        previous = json.loads(manifest_path.read_text())
        wanted = plan.describe()
        if {k: previous.get(k) for k in wanted} != wanted:
            raise SystemExit(
                f"loadgen: {manifest_path} holds another dataset ({json.dumps(previous)}); "
                f"`letsema dev reset --yes` with LETSEMA_STATE_DIR={args.state_dir} to start again"
            )
    args.state_dir.mkdir(parents=True, exist_ok=True)
    lock = open(args.state_dir / "loadgen.lock", "w")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"loadgen: another generator is loading {args.state_dir} (wait for it, or stop it)") from None
    print(f"loadgen: starting the benchmark platform in {args.state_dir} …", file=sys.stderr, flush=True)
    ensure_up(env)
    _bootstrap_registry(env)
    ferretdb_pushdown_indexes(env)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps({**plan.describe(), "complete": False}, indent=2) + "\n")
    print(f"loadgen: {json.dumps(plan.describe())}", file=sys.stderr, flush=True)

    from tqdm import tqdm

    started = time.monotonic()
    ctx = mp.get_context("spawn")
    progress: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(w, args.workers, plan, env, progress), daemon=True)
        for w in range(args.workers)
    ]
    for proc in procs:
        proc.start()
    quiet = args.no_progress
    bars = {
        "tenant": tqdm(total=plan.borrowers, unit="borrower", desc="tenant loans", disable=quiet, file=sys.stderr),
        "others": tqdm(total=plan.other_accounts, unit="account", desc="other MFIs", disable=quiet, file=sys.stderr),
    }
    finished = 0
    failed: str | None = None
    try:
        while finished < len(procs) and failed is None:
            try:
                kind, worker, value = progress.get(timeout=5)
            except queue.Empty:
                if all(not p.is_alive() for p in procs):
                    failed = failed or "a loader process died without a word (killed?)"
                continue
            if kind in bars:
                bars[kind].update(value)
            elif kind == "done":
                finished += 1
            elif kind == "error":
                failed = f"worker {worker}: {value}"
    except KeyboardInterrupt:
        failed = "interrupted (run again to resume)"
    finally:
        for bar in bars.values():
            bar.close()
        for proc in procs:
            if failed is not None and proc.is_alive():
                proc.terminate()
            proc.join(timeout=30)
    if failed is not None:
        print(f"loadgen: FAILED — {failed}", file=sys.stderr)
        return 1
    print("loadgen: VACUUM ANALYZE and counting …", file=sys.stderr, flush=True)
    counts = _analyze(plan, env)
    seconds = round(time.monotonic() - started, 1)
    manifest = {**plan.describe(), "complete": True, "rows": counts, "last_run_seconds": seconds}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
