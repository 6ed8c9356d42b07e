"""``manage.py create_tenant_user --username ana --role loan_officer [--password-env VAR]``."""

from __future__ import annotations

import getpass
import os
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from letsema_api.accounts.services import create_user
from letsema_core.errors import DomainError
from letsema_core.loans.application import Role


class Command(BaseCommand):  # type: ignore[misc]
    help = "Create a tenant user with a role (the password is read from an environment variable or prompted)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--email", default="")
        parser.add_argument("--approval-limit", help='maloti as a decimal string, e.g. "50000.00"')
        parser.add_argument("--password-env", help="name of an environment variable holding the password")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_env"]:
            password = os.environ.get(options["password_env"])
            if not password:
                raise CommandError(f"environment variable {options['password_env']} is empty or unset")
        else:
            password = getpass.getpass("Password: ")
        limit = None
        if options["approval_limit"]:
            try:
                limit = Decimal(options["approval_limit"])
            except InvalidOperation:
                raise CommandError("--approval-limit must be a decimal number") from None
        try:
            user = create_user(
                username=options["username"],
                password=password,
                role=Role(options["role"]),
                email=options["email"],
                approval_limit=limit,
                created_by="manage.py",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"created user {user.username} ({user.role})")
