"""URLs of a tenant API. Domain apps add ``path("api/v1/", include("letsema_api.<app>.urls"))``."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.db import transaction
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from oauth2_provider import views as oauth_views

from letsema_api.accounts.apis import MeApi, UserListCreateApi
from letsema_api.accounts.views import TokenView
from letsema_api.health import views as health

oauth_patterns = [
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
    # Lockout counters must be saved even though the token request fails: not atomic.
    path("token/", transaction.non_atomic_requests(TokenView.as_view()), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
]

api_v1 = [
    path("me/", MeApi.as_view(), name="me"),
    path("users/", UserListCreateApi.as_view(), name="users"),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("o/", include((oauth_patterns, "oauth2_provider"), namespace="oauth2_provider")),
    path("accounts/login/", transaction.non_atomic_requests(auth_views.LoginView.as_view()), name="login"),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("letsema_api.borrowers.urls")),
    path("api/v1/", include("letsema_api.products.urls")),
    path("api/v1/", include("letsema_api.credit.urls")),
    path("api/v1/", include("letsema_api.lending.urls")),
    path("api/v1/", include("letsema_api.ledger.urls")),
    path("api/v1/", include("letsema_api.payments.urls")),
    path("api/v1/", include("letsema_api.reporting.urls")),
    path("api/v1/", include("letsema_api.audit.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "letsema_api.common.errors.bad_request"
handler403 = "letsema_api.common.errors.permission_denied"
handler404 = "letsema_api.common.errors.not_found"
handler500 = "letsema_api.common.errors.server_error"
