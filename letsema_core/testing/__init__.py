"""In-memory fakes of the core's ports, shipped with the library so the API's tests can reuse them."""

from letsema_core.testing.fakes import (
    HmacKeyedHasher,
    InMemoryApplicationRepository,
    InMemoryBorrowerRepository,
    InMemoryConsentRepository,
    InMemoryCreditRegistry,
    InMemoryJournal,
    InMemoryLoanRepository,
    InMemoryOutbox,
    InMemoryProductRepository,
)

__all__ = [
    "HmacKeyedHasher",
    "InMemoryApplicationRepository",
    "InMemoryBorrowerRepository",
    "InMemoryConsentRepository",
    "InMemoryCreditRegistry",
    "InMemoryJournal",
    "InMemoryLoanRepository",
    "InMemoryOutbox",
    "InMemoryProductRepository",
]
