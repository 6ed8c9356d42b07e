"""The keyed-hash port and the borrower key it produces.

``borrower_key`` = keyed hash (Transit HMAC under the one platform key in production) of the primary
identifier's ``lookup_input`` (``"LS:NID:<12 digits>"``, see ``letsema_core.identity``). Every MFI
computes the same key for the same person, and the registry never sees an ID number. The same port
produces the tenant database's lookup keys for identifiers.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from letsema_core.identity import Identifier


@runtime_checkable
class KeyedHasher(Protocol):
    """Computes an opaque, deterministic keyed hash of a string (an HMAC under a secret key).

    Contract (``tests/contracts/keyed_hasher.py``): the same message always gives the same digest;
    different messages give different digests; the digest is a non-empty ASCII string that does not
    contain the message.
    """

    def digest(self, message: str) -> str: ...


def borrower_key(*, identifier: Identifier, hasher: KeyedHasher) -> str:
    """The registry key of the borrower holding ``identifier`` (normally their primary identifier).

    The tenant database uses the same digest of any identifier as its lookup key beside the ciphertext.
    """
    return hasher.digest(identifier.lookup_input)
