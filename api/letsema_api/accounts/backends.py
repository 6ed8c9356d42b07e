"""Password checks with account lockout: N failures within a window lock the account for a while.

Every password login goes through here (the OAuth2 password grant and the browser login of the
authorization-code flow both call ``authenticate()``). A locked account is refused even with the
right password, with the same answer as a wrong one. Locking is audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.utils import timezone

from letsema_api.accounts.models import User
from letsema_api.common.audit import record_audit


class LockoutModelBackend(ModelBackend):  # type: ignore[misc]
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        cfg = settings.LETSEMA
        now = timezone.now()
        with transaction.atomic():
            user: User | None = User.objects.select_for_update().filter(username=username).first()
            if user is None:
                User().set_password(password)  # same cost as a real check: no user enumeration by timing
                return None
            if user.locked_until is not None and user.locked_until > now:
                return None
            if user.check_password(password) and self.user_can_authenticate(user):
                if user.failed_login_attempts or user.locked_until:
                    user.failed_login_attempts = 0
                    user.failed_login_window_started_at = None
                    user.locked_until = None
                    user.save(update_fields=["failed_login_attempts", "failed_login_window_started_at", "locked_until"])
                return user
            window = timedelta(seconds=cfg.lockout_window_seconds)
            started = user.failed_login_window_started_at
            if started is None or now - started > window:
                user.failed_login_window_started_at = now
                user.failed_login_attempts = 1
            else:
                user.failed_login_attempts += 1
            if user.failed_login_attempts >= cfg.lockout_threshold:
                user.locked_until = now + timedelta(seconds=cfg.lockout_seconds)
                record_audit(
                    actor=user.username,
                    action="account_locked",
                    entity="user",
                    entity_id=user.pk,
                    after={
                        "failed_attempts": user.failed_login_attempts,
                        "locked_until": user.locked_until.isoformat(),
                    },
                )
                user.failed_login_attempts = 0
                user.failed_login_window_started_at = None
            user.save(update_fields=["failed_login_attempts", "failed_login_window_started_at", "locked_until"])
        return None
