"""``manage.py create_oauth_client --name "M-Pesa" --grant client-credentials --owner mpesa``.

Prints the client id and (for confidential clients) the secret, once: only its hash is stored.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from letsema_api.accounts.models import User
from letsema_api.accounts.services import GRANTS, create_oauth_client
from letsema_core.errors import DomainError


class Command(BaseCommand):  # type: ignore[misc]
    help = "Register an OAuth2 client (password, client-credentials or authorization-code with PKCE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--grant", required=True, choices=sorted(GRANTS))
        parser.add_argument("--owner", help="username owning the client (required for client-credentials)")
        parser.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        parser.add_argument("--public", action="store_true", help="a public client (browser/mobile app, no secret)")
        parser.add_argument("--skip-consent", action="store_true", help="first-party app: no consent screen")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"]:
            owner = User.objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"no user {options['owner']}")
        try:
            issued = create_oauth_client(
                name=options["name"],
                grant=options["grant"],
                owner=owner,
                redirect_uris=tuple(options["redirect_uris"]),
                public=options["public"],
                skip_consent=options["skip_consent"],
                created_by="manage.py",
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        result = {"client_id": issued.client_id, "client_secret": issued.client_secret, "grant": issued.grant}
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
