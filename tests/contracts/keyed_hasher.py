"""Contract of the ``KeyedHasher`` port (Transit HMAC in production). Provide ``hasher`` and, to check
that the key matters, ``hasher_with_other_key`` (an instance under a different key)."""

from __future__ import annotations

import pytest

from letsema_core.credit import KeyedHasher, borrower_key
from letsema_core.identity import NationalId
from tests.contracts import FloatTrapped


class KeyedHasherContract(FloatTrapped):
    @pytest.fixture
    def hasher(self) -> KeyedHasher:
        raise NotImplementedError

    @pytest.fixture
    def hasher_with_other_key(self) -> KeyedHasher:
        raise NotImplementedError

    def test_implements_the_port(self, hasher: KeyedHasher) -> None:
        assert isinstance(hasher, KeyedHasher)

    def test_same_message_gives_the_same_digest(self, hasher: KeyedHasher) -> None:
        assert hasher.digest("LS:NID:012345678901") == hasher.digest("LS:NID:012345678901")

    def test_different_messages_give_different_digests(self, hasher: KeyedHasher) -> None:
        digests = {hasher.digest(f"LS:NID:01234567890{n}") for n in range(10)}
        assert len(digests) == 10

    def test_digest_is_ascii_and_does_not_reveal_the_message(self, hasher: KeyedHasher) -> None:
        digest = hasher.digest("LS:NID:012345678901")
        assert digest
        assert digest.isascii()
        assert "012345678901" not in digest

    def test_digest_depends_on_the_key(self, hasher: KeyedHasher, hasher_with_other_key: KeyedHasher) -> None:
        assert hasher.digest("LS:NID:012345678901") != hasher_with_other_key.digest("LS:NID:012345678901")

    def test_borrower_key_ignores_how_the_id_was_typed(self, hasher: KeyedHasher) -> None:
        typed = borrower_key(identifier=NationalId.parse("0123 4567-8901"), hasher=hasher)
        assert typed == borrower_key(identifier=NationalId.parse("012345678901"), hasher=hasher)
