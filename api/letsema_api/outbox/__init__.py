"""The transactional outbox of registry events and its relay.

``DjangoOutbox`` (the core's ``Outbox`` port) writes each ``CreditAccountEvent`` in the transaction of the
loan change that caused it; ``relay.relay_pending`` publishes pending rows to the shared registry
(``MongoCreditRegistry``, idempotent by event id and sequence) and marks them published; the management
command ``relay_credit_events`` runs it once or in a loop with back-off.
"""
