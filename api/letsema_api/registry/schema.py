"""The registry's collections and indexes: one definition shared by the adapter and the bootstrap.

Every collection is keyed first by ``{country, borrower_key}``, the shard key: a credit file is read with
one targeted query per collection, and every unique index starts with the shard key (MongoDB only
enforces uniqueness across shards for such indexes).

- ``credit_accounts``: the revisions of each loan's account. A document is never updated: a change is
  the insert of the next ``revision`` with ``_id`` ``<account id>#<revision>`` (see ``account_id``), so
  two writers of the same revision collide on ``_id`` (atomic on every server, unlike a conditional
  update, which FerretDB 1.24 does not apply atomically). The account is its highest revision; older
  ones are deleted by the writer that superseded them. A reader outside the adapter must take the
  highest ``revision`` per ``(country, borrower_key, lender_mfi, loan_ref)``.
- ``inquiries``: one document per report pulled, ``_id`` = ``inquiry_id`` (idempotent insert).
- ``disputes``: one document per dispute, ``_id`` = ``dispute_id``.

The one index not led by the shard key is ``credit_accounts.lender_loan``: it answers "does this
lender's loan already exist under another borrower?", asked once when an account is opened (the
in-memory registry keys accounts by ``(lender_mfi, loan_ref)`` and refuses such an event; so does the
adapter). In a sharded cluster that query goes to every shard, once per loan, never per repayment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

DEFAULT_DATABASE: Final = "letsema_registry"
ACCOUNTS: Final = "credit_accounts"
INQUIRIES: Final = "inquiries"
DISPUTES: Final = "disputes"
COLLECTIONS: Final = (ACCOUNTS, INQUIRIES, DISPUTES)
SHARD_KEY: Final = (("country", 1), ("borrower_key", 1))


@dataclass(frozen=True)
class IndexSpec:
    """One index of a registry collection, in the shape of a ``createIndexes`` entry."""

    collection: str
    name: str
    keys: tuple[tuple[str, int], ...]
    unique: bool = False

    def as_command_entry(self) -> dict[str, object]:
        entry: dict[str, object] = {"key": dict(self.keys), "name": self.name}
        if self.unique:
            entry["unique"] = True
        return entry


INDEXES: Final = (
    # credit_file: accounts of one borrower ordered by (lender_mfi, loan_ref), newest revision first; and
    # the newest revision of one account, read before each write.
    IndexSpec(
        ACCOUNTS, "borrower_accounts", (*SHARD_KEY, ("lender_mfi", 1), ("loan_ref", 1), ("revision", -1)), unique=True
    ),
    # Account opening: the same lender's loan under another borrower is refused (see module docstring).
    IndexSpec(ACCOUNTS, "lender_loan", (("lender_mfi", 1), ("loan_ref", 1))),
    # credit_file: inquiries of one borrower in time order.
    IndexSpec(INQUIRIES, "borrower_inquiries", (*SHARD_KEY, ("at", 1))),
    # credit_file: disputes of one borrower in opening order.
    IndexSpec(DISPUTES, "borrower_disputes", (*SHARD_KEY, ("opened_at", 1))),
)


def indexes_of(collection: str) -> tuple[IndexSpec, ...]:
    return tuple(index for index in INDEXES if index.collection == collection)


def account_id(*, country: str, borrower_key: str, lender_mfi: str, loan_ref: str) -> str:
    """The id of a loan's account: ``LS/<borrower_key>/<lender>/<loan_ref>``, each part percent-encoded
    so that a ``/`` or ``#`` inside a part cannot make two accounts (or revisions) share an id."""
    return "/".join(quote(part, safe="") for part in (country, borrower_key, lender_mfi, loan_ref))


def account_revision_id(account: str, revision: int) -> str:
    """The ``_id`` of revision ``revision`` of the account ``account`` (an ``account_id``)."""
    return f"{account}#{revision}"
