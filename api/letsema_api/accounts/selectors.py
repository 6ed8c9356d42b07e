"""Read-only queries over users (lists go to the replica when it is healthy)."""

from __future__ import annotations

from django.db.models import QuerySet

from letsema_api.accounts.models import User
from letsema_api.routers import on_replica


def user_list(*, role: str | None = None) -> QuerySet[User]:
    users = User.objects.order_by("username")
    if role:
        users = users.filter(role=role)
    return on_replica(users)
