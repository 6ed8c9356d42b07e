"""Settings of the ceiling app. The database comes from ``CEILING_DB_*`` environment variables.

Connection handling mirrors a tenant API's primary database (api/letsema_api/settings.py): psycopg,
connections kept ``LETSEMA_CONN_MAX_AGE`` seconds (same variable, same default) and checked before
reuse, every request in a transaction. No authentication, no middleware: this is the ceiling.
"""

from __future__ import annotations

import os
import secrets

# Nothing here is signed or kept: a key made at start-up is enough, and none is written down.
SECRET_KEY = os.environ.get("CEILING_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["rest_framework", "ceiling"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "ceiling.urls"
WSGI_APPLICATION = "ceiling.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("CEILING_DB_NAME", "letsema_ceiling"),
        "HOST": os.environ.get("CEILING_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("CEILING_DB_PORT", "5432"),
        "USER": os.environ.get("CEILING_DB_USER", "letsema_ceiling"),
        "PASSWORD": os.environ.get("CEILING_DB_PASSWORD", ""),
        "CONN_MAX_AGE": int(os.environ.get("LETSEMA_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": True,
        "OPTIONS": {"connect_timeout": 5},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

USE_TZ = True
TIME_ZONE = "Africa/Maseru"
USE_I18N = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
