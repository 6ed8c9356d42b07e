"""``manage.py seed_demo`` — demo products, users of every role, OAuth clients and a few borrowers.

Idempotent: what exists already is left as it is, so running it on every start is safe. Passwords
and client secrets are generated here and printed once (with ``--json``, as one JSON object that
``letsema dev up`` merges into ``.letsema/demo-credentials.json``); only their hashes are stored.
Development data only: never run it against a real MFI's database.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone
from oauth2_provider.models import get_application_model

from letsema_api.accounts.models import User
from letsema_api.accounts.services import create_oauth_client, create_user
from letsema_api.borrowers import models as borrower_models
from letsema_api.borrowers.services import grant_consent, register
from letsema_api.products.models import LoanProduct
from letsema_api.products.services import create_product
from letsema_core.loans.application import Role

ACTOR = "seed_demo"

#: username, role, approval limit (maloti) for branch managers
USERS: tuple[tuple[str, Role, Decimal | None], ...] = (
    ("admin", Role.MFI_ADMIN, None),
    ("manager", Role.BRANCH_MANAGER, Decimal("50000.00")),
    ("officer", Role.LOAN_OFFICER, None),
    ("officer2", Role.LOAN_OFFICER, None),
    ("auditor", Role.AUDITOR, None),
    ("mpesa", Role.INTEGRATION, None),
)

PRODUCTS: tuple[dict[str, Any], ...] = (
    {
        "code": "BIZ-MONTHLY",
        "name": "Small business loan (monthly)",
        "principal_min": Decimal("1000.00"),
        "principal_max": Decimal("100000.00"),
        "term_min": 3,
        "term_max": 24,
        "repayment_frequency": "monthly",
        "annual_interest_rate_percent": Decimal("24"),
        "interest_method": "declining_balance",
        "amortization": "equal_installments",
        "upfront_fee_percent": Decimal("2"),
        "late_penalty_percent": Decimal("5"),
        "penalty_grace_days": 5,
        "approval_limit": Decimal("50000.00"),
        "max_debt_to_income_percent": Decimal("40"),
        "credit_check_mandatory": True,
    },
    {
        "code": "GROUP-WEEKLY",
        "name": "Group loan (weekly, flat)",
        "principal_min": Decimal("500.00"),
        "principal_max": Decimal("20000.00"),
        "term_min": 8,
        "term_max": 52,
        "repayment_frequency": "weekly",
        "annual_interest_rate_percent": Decimal("30"),
        "interest_method": "flat",
        "upfront_fee_amount": Decimal("50.00"),
        "late_penalty_percent": Decimal("2"),
        "penalty_grace_days": 3,
        "approval_limit": Decimal("10000.00"),
        "max_debt_to_income_percent": Decimal("35"),
        "credit_check_mandatory": False,
    },
)

#: The same people at every tenant (the same national IDs), so the shared registry has something
#: to show across MFIs: first name, last name, date of birth, district, phone, monthly income, ID.
BORROWERS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("Palesa", "Mokoena", "1988-03-14", "maseru", "+26658001001", "8500.00", "010203040501"),
    ("Thabo", "Letsie", "1979-11-02", "leribe", "+26662002002", "12000.00", "020304050602"),
    ("Lineo", "Mofokeng", "1995-07-21", "berea", "+26657003003", "6200.00", "030405060703"),
    ("Teboho", "Ramakau", "1983-01-30", "mafeteng", "+26663004004", "9400.00", "040506070804"),
)


class Command(BaseCommand):  # type: ignore[misc]
    help = "Seed demo products, users of every role, OAuth clients and borrowers (idempotent; development only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print what was created (with secrets) as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        created: dict[str, Any] = {"tenant": settings.LETSEMA.tenant_id, "users": {}, "oauth_clients": {}}
        for username, role, limit in USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(15)
            create_user(
                username=username,
                password=password,
                role=role,
                approval_limit=limit,
                email=f"{username}@{settings.LETSEMA.tenant_id}.example",
                created_by=ACTOR,
            )
            created["users"][username] = {"password": password, "role": role.value}

        applications = get_application_model()
        clients = (
            ("letsema-staff-app", "password", None),
            ("mpesa-gateway", "client-credentials", "mpesa"),
        )
        for name, grant, owner_name in clients:
            if applications.objects.filter(name=name).exists():
                continue
            owner = User.objects.get(username=owner_name) if owner_name else None
            issued = create_oauth_client(name=name, grant=grant, owner=owner, created_by=ACTOR)
            created["oauth_clients"][name] = {
                "client_id": issued.client_id,
                "client_secret": issued.client_secret,
                "grant": grant,
            }

        products = 0
        for fields in PRODUCTS:
            if not LoanProduct.objects.filter(code=fields["code"]).exists():
                create_product(fields=fields, actor=ACTOR)
                products += 1

        borrowers = 0
        today = timezone.localdate()
        for number, (first, last, dob, district, phone, income, national_id) in enumerate(BORROWERS, start=1):
            key = f"seed-demo-borrower-{number}"
            registration, new = register(
                first_name=first,
                last_name=last,
                date_of_birth=datetime.strptime(dob, "%Y-%m-%d").date(),  # noqa: DTZ007 - a date, no time
                district=district,
                phone=phone,
                monthly_income=Decimal(income),
                identifiers=[{"type": "lesotho_national_id", "value": national_id}],
                gender=None,
                actor=ACTOR,
                on=today,
                idempotency_key=key,
            )
            if new:
                borrowers += 1
                grant_consent(
                    borrower_id=registration.borrower.id,
                    purpose="credit_sharing",
                    method="written",
                    granted_at=datetime.now(tz=UTC),
                    reference=f"DEMO-CONSENT-{number:03d}",
                    expires_at=None,
                    actor=ACTOR,
                    idempotency_key=f"{key}-consent",
                )
        total = borrower_models.Borrower.objects.count()
        if options["json"]:
            created["summary"] = {"products_created": products, "borrowers_created": borrowers, "borrowers": total}
            self.stdout.write(json.dumps(created))
        else:
            self.stdout.write(
                f"seed_demo: {len(created['users'])} users, {len(created['oauth_clients'])} OAuth clients, "
                f"{products} products and {borrowers} borrowers created ({total} borrowers in all)"
            )
            for username, info in created["users"].items():
                self.stdout.write(f"  user {username} ({info['role']}): {info['password']}")
            for name, info in created["oauth_clients"].items():
                self.stdout.write(f"  client {name} ({info['grant']}): {info['client_id']} / {info['client_secret']}")
