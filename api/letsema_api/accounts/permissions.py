"""Who may do what: roles (DOMAIN.md) → actions, actions → OAuth scopes.

An API declares what it does, per method or once::

    class LoanApproveApi(APIView):
        required_actions = {"POST": Action.APPROVE}

``ActionPermission`` (the project's default permission class) then requires an authenticated
principal whose role allows the action AND a token carrying the action's scope. An API that
declares nothing is refused to everyone (deny by default). Client-credentials tokens act with
the role of the application's owner (an ``integration`` user).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import BasePermission

from letsema_core.errors import DomainError
from letsema_core.loans.application import Role


class Action(StrEnum):
    READ = "read"  # borrowers, products, applications, loans
    WRITE = "write"  # register, quote, apply, submit, withdraw, disburse
    APPROVE = "approve"  # approve / reject applications, write-offs
    POST_REPAYMENT = "post_repayment"  # record repayments and reversals
    REPORTS = "reports"  # portfolio, PAR, ageing, collections, trial balance
    AUDIT = "audit"  # the audit trail and journal
    MANAGE_USERS = "manage_users"  # users and OAuth clients of the tenant


SCOPES: dict[str, str] = {
    "read": "Read borrowers, products, applications and loans",
    "write": "Register borrowers, quote, apply, disburse",
    "approve": "Approve or reject applications",
    "repayments": "Post repayments",
    "reports": "Read portfolio and accounting reports",
    "audit": "Read the audit trail",
}

ACTION_SCOPE: dict[Action, str] = {
    Action.READ: "read",
    Action.WRITE: "write",
    Action.APPROVE: "approve",
    Action.POST_REPAYMENT: "repayments",
    Action.REPORTS: "reports",
    Action.AUDIT: "audit",
    Action.MANAGE_USERS: "write",
}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.MFI_ADMIN: frozenset(Action),
    Role.BRANCH_MANAGER: frozenset({Action.READ, Action.WRITE, Action.APPROVE, Action.POST_REPAYMENT, Action.REPORTS}),
    # Registers, quotes, applies, records repayments; never approves.
    Role.LOAN_OFFICER: frozenset({Action.READ, Action.WRITE, Action.POST_REPAYMENT, Action.REPORTS}),
    # Reads everything including the audit log; writes nothing.
    Role.AUDITOR: frozenset({Action.READ, Action.REPORTS, Action.AUDIT}),
    # Payment systems: post repayments only.
    Role.INTEGRATION: frozenset({Action.POST_REPAYMENT}),
}


def role_scopes(role: Role) -> set[str]:
    """The scopes a token for ``role`` may usefully carry."""
    return {ACTION_SCOPE[a] for a in ROLE_ACTIONS[role]}


class RoleNotAllowed(DomainError):
    code = "role_not_allowed"
    http_status = 403


class InsufficientScope(DomainError):
    code = "insufficient_scope"
    http_status = 403


class Principal:
    """The authenticated party of a request: a user, or an integration client acting as its owner."""

    def __init__(self, *, name: str, role: Role, user: Any) -> None:
        self.name = name
        self.role = role
        self.user = user


def principal_of(request: Any) -> Principal | None:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and user.is_active:
        return Principal(name=user.username, role=user.role_enum, user=user)
    token = getattr(request, "auth", None)
    application = getattr(token, "application", None)
    owner = getattr(application, "user", None)
    if application is not None and owner is not None and owner.is_active:
        return Principal(name=f"client:{application.client_id}", role=owner.role_enum, user=owner)
    return None


def required_action(view: Any, method: str) -> Action | None:
    actions: dict[str, Action] | None = getattr(view, "required_actions", None)
    if actions is not None:
        return actions.get("GET" if method in {"HEAD", "OPTIONS"} else method)
    action: Action | None = getattr(view, "required_action", None)
    return action


class ActionPermission(BasePermission):  # type: ignore[misc]
    def has_permission(self, request: Any, view: Any) -> bool:
        principal = principal_of(request)
        if principal is None:
            raise NotAuthenticated()
        action = required_action(view, request.method)
        if action is None:
            raise RoleNotAllowed(
                "this endpoint declares no action; nobody may call it",
                details={"method": request.method},
            )
        if action not in ROLE_ACTIONS[principal.role]:
            raise RoleNotAllowed(
                f"role {principal.role.value} may not {action.value.replace('_', ' ')}",
                details={"role": principal.role.value, "action": action.value},
            )
        scope = ACTION_SCOPE[action]
        token = request.auth
        if token is None or not token.allow_scopes([scope]):
            raise InsufficientScope(f"the access token lacks the {scope!r} scope", details={"required_scope": scope})
        return True


class IsAuthenticatedPrincipal(BasePermission):  # type: ignore[misc]
    """Any authenticated user or client, whatever its role (e.g. ``/api/v1/me/``)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if principal_of(request) is None:
            raise NotAuthenticated()
        return True
