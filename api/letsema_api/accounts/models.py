"""The tenant's users. The custom user model exists from the first migration so it never has to
be swapped in later; its ``role`` is one of ``letsema_core.loans.Role``."""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models

from letsema_core.loans.application import Role

ROLE_CHOICES = [(role.value, role.value) for role in Role]


class User(AbstractUser):  # type: ignore[misc]
    role = models.CharField(max_length=32, choices=ROLE_CHOICES)
    # The most this user may approve, in maloti; None means no limit of their own (DOMAIN.md:
    # branch managers approve up to the product's limit, MFI admins without one).
    approval_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    failed_login_attempts = models.PositiveIntegerField(default=0)
    failed_login_window_started_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    REQUIRED_FIELDS: ClassVar[list[str]] = ["email", "role"]

    @property
    def role_enum(self) -> Role:
        return Role(self.role)
