"""The shared credit registry on MongoDB: the ``CreditRegistry`` adapter, its document codec and bootstrap.

``MongoCreditRegistry`` (``mongo.py``) implements ``letsema_core.credit.CreditRegistry`` with pymongo;
``codec.py`` maps core values to documents and back; ``bootstrap.py`` creates the indexes and, behind a
mongos, shards the collections on ``{country, borrower_key}`` with zones by country. The collection
layout is in ``schema.py``.
"""

from letsema_api.registry.codec import MoneyCodec, MoneyEncoding
from letsema_api.registry.mongo import MongoCreditRegistry, RegistryWriteConflict
from letsema_api.registry.schema import DEFAULT_DATABASE

__all__ = ["DEFAULT_DATABASE", "MoneyCodec", "MoneyEncoding", "MongoCreditRegistry", "RegistryWriteConflict"]
