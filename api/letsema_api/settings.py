"""Django settings of a tenant API process: everything from the environment (see docs/api.md).

Nothing secret lives here. ``SECRET_KEY`` comes from Vault KV v2 at start; database logins come
from Vault's database engine for every new connection (``letsema_api.db``).
"""

from __future__ import annotations

from pathlib import Path

from letsema_api.config import load_config
from letsema_api.startup import secret_key

BASE_DIR = Path(__file__).resolve().parent

LETSEMA = load_config()
SECRET_KEY = secret_key(LETSEMA)
DEBUG = LETSEMA.debug
ALLOWED_HOSTS = list(LETSEMA.allowed_hosts)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "oauth2_provider",
    "letsema_api.common",
    "letsema_api.accounts",
    "letsema_api.borrowers",
    "letsema_api.products",
    "letsema_api.credit",
    "letsema_api.lending",
    "letsema_api.ledger",
    "letsema_api.payments",
    "letsema_api.outbox",
    "letsema_api.demo",
    "letsema_api.reporting",
    "letsema_api.audit",
    # Domain apps (borrowers, loans, ...) go here, each with apis.py / selectors.py / services.py.
]

MIDDLEWARE = [
    "letsema_api.common.request_id.RequestIdMiddleware",
    "letsema_api.health.metrics.MetricsMiddleware",
    "letsema_api.common.middleware.BodySizeLimitMiddleware",
    "letsema_api.common.middleware.DatabaseUnavailableMiddleware",
    "letsema_api.health.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "letsema_api.urls"
WSGI_APPLICATION = "letsema_api.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]


def _database(host: str, port: int, *, standby: bool) -> dict[str, object]:
    return {
        "ENGINE": "letsema_api.db",
        "NAME": LETSEMA.db_name,
        "HOST": host,
        "PORT": port,
        "USER": "",
        "PASSWORD": "",
        # Connections live a minute and are checked before reuse; never Django's pool, which would
        # freeze the Vault credential it was built with (TOOL-NOTES).
        "CONN_MAX_AGE": LETSEMA.conn_max_age_seconds,
        "CONN_HEALTH_CHECKS": True,
        # A failed request writes nothing. Not on the replica: it would connect on every request.
        "ATOMIC_REQUESTS": not standby,
        "STANDBY": standby,
        "OPTIONS": {"assume_role": LETSEMA.db_group_role, "connect_timeout": 5},
        "TEST": {"MIRROR": "default"} if standby else {},
    }


DATABASES = {"default": _database(LETSEMA.db_host, LETSEMA.db_port, standby=False)}
if LETSEMA.replica_host is not None and LETSEMA.replica_port is not None:
    DATABASES["replica"] = _database(LETSEMA.replica_host, LETSEMA.replica_port, standby=True)
DATABASE_ROUTERS = ["letsema_api.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["letsema_api.accounts.backends.LockoutModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"

# Session and CSRF cookies only serve the browser sign-in of the authorization-code flow.
SESSION_COOKIE_SECURE = LETSEMA.secure_cookies
CSRF_COOKIE_SECURE = LETSEMA.secure_cookies
if LETSEMA.behind_tls_proxy:
    # Only behind an ingress that sets X-Forwarded-Proto and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

DATA_UPLOAD_MAX_MEMORY_SIZE = LETSEMA.max_body_bytes

LANGUAGE_CODE = "en"
TIME_ZONE = "Africa/Maseru"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"

OAUTH2_PROVIDER = {
    "SCOPES": {
        "read": "Read borrowers, products, applications and loans",
        "write": "Register borrowers, quote, apply, disburse",
        "approve": "Approve or reject applications",
        "repayments": "Post repayments",
        "reports": "Read portfolio and accounting reports",
        "audit": "Read the audit trail",
    },
    "DEFAULT_SCOPES": ["read"],
    "PKCE_REQUIRED": True,
    # The issue asks for the password grant for users, which RFC 9700 discourages: it stays enabled
    # (DOT warns on each use) for first-party clients only; browser apps use the code flow + PKCE.
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": False,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 8 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "OAUTH2_VALIDATOR_CLASS": "letsema_api.accounts.oauth.LetsemaOAuth2Validator",
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oauth2_provider.contrib.rest_framework.OAuth2Authentication"],
    "DEFAULT_PERMISSION_CLASSES": ["letsema_api.accounts.permissions.ActionPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "letsema_api.common.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "letsema_api.common.schema.LetsemaAutoSchema",
    "EXCEPTION_HANDLER": "letsema_api.common.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": LETSEMA.login_rate},
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Letsema tenant API",
    "DESCRIPTION": f"The lending API of {LETSEMA.tenant_name}. Errors are always "
    '`{"code", "message", "details"}`; money is a decimal string with two decimals.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"Role": "letsema_core.loans.application.Role"},
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "OAUTH2_FLOWS": ["authorizationCode", "password", "clientCredentials"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "letsema_api.common.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": f"%(asctime)s %(levelname)s [{LETSEMA.tenant_id} %(request_id)s] %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
