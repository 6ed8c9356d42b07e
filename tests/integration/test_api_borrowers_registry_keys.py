"""``DjangoBorrowerRepository.registry_keys``: a batch's registry keys with one query, each the one
``registry_key`` gives (close of business names hundreds of registry accounts per batch)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from letsema_core.errors import NotFound
from tests.contracts.borrower_repository import make_borrower

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("trap_floats")]


@pytest.fixture
def rolled_back(django_api: Any) -> Iterator[None]:
    from django.db import transaction

    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def test_registry_keys_are_each_borrowers_registry_key_read_with_one_query(rolled_back: None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from letsema_api.borrowers.repositories import DjangoBorrowerRepository
    from letsema_api.vault import get_vault

    from letsema_core.identity import Identifier, NationalId

    vault = get_vault()
    borrowers = DjangoBorrowerRepository(cipher=vault, hasher=vault.keyed_hasher())
    national = NationalId.parse(f"{random.randrange(10**12):012d}")
    passport_first = [Identifier.parse(type="passport", value="RK7654321"), national]
    borrowers.add(make_borrower("B-rk1", identifiers=passport_first))
    borrowers.add(make_borrower("B-rk2", identifiers=[NationalId.parse(f"{random.randrange(10**12):012d}")]))
    ids = ["B-rk2", "B-rk1"]
    expected = {borrower_id: borrowers.registry_key(borrower_id, vault.keyed_hasher()) for borrower_id in ids}
    with CaptureQueriesContext(connection) as queries:
        assert borrowers.registry_keys(ids, vault.keyed_hasher()) == expected
    assert len(queries.captured_queries) == 1
    assert borrowers.registry_keys([], vault.keyed_hasher()) == {}
    with pytest.raises(NotFound):
        borrowers.registry_keys(["B-rk1", "no-such-borrower"], vault.keyed_hasher())
