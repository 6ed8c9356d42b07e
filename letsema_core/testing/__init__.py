"""In-memory fakes of the core's ports, shipped with the library so the API's tests can reuse them."""

from letsema_core.testing.fakes import (
    HmacKeyedHasher,
    InMemoryBorrowerRepository,
    InMemoryConsentRepository,
    InMemoryCreditRegistry,
    InMemoryOutbox,
)

__all__ = [
    "HmacKeyedHasher",
    "InMemoryBorrowerRepository",
    "InMemoryConsentRepository",
    "InMemoryCreditRegistry",
    "InMemoryOutbox",
]
