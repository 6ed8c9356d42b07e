"""Creating tenant users and OAuth clients (used by the API and the management commands)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from oauth2_provider.models import get_application_model

from letsema_api.accounts.models import User
from letsema_api.accounts.permissions import role_scopes
from letsema_api.common.audit import record_audit
from letsema_core.errors import DomainError, ValidationError
from letsema_core.loans.application import Role

GRANTS = {
    "password": "password",
    "client-credentials": "client-credentials",
    "authorization-code": "authorization-code",
}


class UsernameTaken(DomainError):
    code = "username_taken"
    http_status = 409


@transaction.atomic  # type: ignore[untyped-decorator]
def create_user(
    *,
    username: str,
    password: str,
    role: Role,
    email: str = "",
    approval_limit: Decimal | None = None,
    created_by: str,
) -> User:
    """Create an active user with ``role``. Raises ``UsernameTaken`` (409) and ``ValidationError``
    (rule ``password_policy``) when the password fails Django's validators."""
    if User.objects.filter(username=username).exists():
        raise UsernameTaken(f"user {username} already exists", details={"field": "username", "rule": "unique"})
    user = User(username=username, email=email, role=role.value, approval_limit=approval_limit)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError(" ".join(exc.messages), field="password", rule="password_policy") from None
    user.set_password(password)
    user.save()
    record_audit(
        actor=created_by,
        action="user_created",
        entity="user",
        entity_id=user.pk,
        after={
            "username": username,
            "role": role.value,
            "approval_limit": None if approval_limit is None else str(approval_limit),
        },
    )
    return user


@dataclass(frozen=True)
class IssuedClient:
    client_id: str
    client_secret: str | None  # shown once; only its hash is stored
    grant: str


@transaction.atomic  # type: ignore[untyped-decorator]
def create_oauth_client(
    *,
    name: str,
    grant: str,
    owner: User | None,
    redirect_uris: tuple[str, ...] = (),
    public: bool = False,
    skip_consent: bool = False,
    created_by: str,
) -> IssuedClient:
    """Register an OAuth2 application. ``client-credentials`` clients need an ``owner`` (their role is the
    client's role, normally ``integration``); ``authorization-code`` clients need redirect URIs and always
    use PKCE (``PKCE_REQUIRED``)."""
    if grant not in GRANTS:
        raise ValidationError(f"unknown grant {grant!r}", field="grant", rule="choice", choices=sorted(GRANTS))
    if grant == "client-credentials" and owner is None:
        raise ValidationError("a client-credentials client needs an owner user", field="owner", rule="required")
    if grant == "authorization-code" and not redirect_uris:
        raise ValidationError(
            "an authorization-code client needs redirect URIs", field="redirect_uris", rule="required"
        )
    if grant == "client-credentials" and public:
        raise ValidationError("a client-credentials client must be confidential", field="public", rule="confidential")
    application_model = get_application_model()
    secret = None if public else secrets.token_urlsafe(40)
    app = application_model(
        name=name,
        user=owner,
        client_type=application_model.CLIENT_PUBLIC if public else application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=GRANTS[grant],
        redirect_uris=" ".join(redirect_uris),
        skip_authorization=skip_consent,
    )
    if secret is not None:
        app.client_secret = secret
    app.save()
    record_audit(
        actor=created_by,
        action="oauth_client_created",
        entity="oauth_application",
        entity_id=app.pk,
        after={"name": name, "grant": grant, "client_id": app.client_id, "owner": owner.username if owner else None},
    )
    return IssuedClient(client_id=app.client_id, client_secret=secret, grant=grant)


def scopes_for(user: User) -> list[str]:
    return sorted(role_scopes(user.role_enum))
