"""Use cases: what the API's views and jobs call, written against the core's ports.

Every use case takes keyword arguments only: the ids and values of the request, the business date
(``on``) or time (``at``) — the core never reads a clock — the ``Tenant`` it runs for, and the ports it
needs (repositories, ``Outbox``, ``CreditRegistry``, ``KeyedHasher``). Loan changes that the registry must
learn about append a ``CreditAccountEvent`` to the ``Outbox`` (transactional outbox, DESIGN.md); only
``pull_credit_report`` (and the borrower's own file) talks to the registry directly, reading the file
and recording the inquiry. The caller wraps one use case in one database transaction.
"""

from letsema_core.services.context import Tenant
from letsema_core.services.credit import (
    borrower_credit_file,
    open_credit_dispute,
    pull_credit_report,
    resolve_credit_dispute,
)
from letsema_core.services.lending import (
    CreditCheckRequired,
    Disbursement,
    Quote,
    approve_application,
    assess_application,
    create_application,
    disburse_loan,
    quote,
    reject_application,
    submit_application,
)
from letsema_core.services.onboarding import Registration, record_consent, register_borrower, revoke_consent
from letsema_core.services.registry_events import RegistryAccountFacts, account_event_for, relay_outbox
from letsema_core.services.servicing import (
    REGISTRY_DPD_MILESTONES,
    StampedArrears,
    close_of_business_events,
    record_repayment,
    reverse_repayment,
    run_close_of_business,
    write_off_loan,
)

__all__ = [
    "REGISTRY_DPD_MILESTONES",
    "CreditCheckRequired",
    "Disbursement",
    "Quote",
    "Registration",
    "RegistryAccountFacts",
    "StampedArrears",
    "Tenant",
    "account_event_for",
    "approve_application",
    "assess_application",
    "borrower_credit_file",
    "close_of_business_events",
    "create_application",
    "disburse_loan",
    "open_credit_dispute",
    "pull_credit_report",
    "quote",
    "record_consent",
    "record_repayment",
    "register_borrower",
    "reject_application",
    "relay_outbox",
    "resolve_credit_dispute",
    "reverse_repayment",
    "revoke_consent",
    "run_close_of_business",
    "submit_application",
    "write_off_loan",
]
