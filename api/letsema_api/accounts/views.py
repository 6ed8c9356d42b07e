"""The OAuth2 token endpoint with login throttling, and the browser login of the code flow."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from oauth2_provider import views as oauth_views
from rest_framework.throttling import SimpleRateThrottle

from letsema_api.common.errors import json_error


class LoginRateThrottle(SimpleRateThrottle):  # type: ignore[misc]
    """At most ``LETSEMA_LOGIN_RATE`` token requests per client address and account (or client id).

    Lockout (``LockoutModelBackend``) bounds guesses per account over minutes; this bounds bursts.
    Counts live in Django's cache (per process with the default local-memory cache)."""

    scope = "login"

    def get_cache_key(self, request: Any, view: Any) -> str:
        who = request.POST.get("username") or request.POST.get("client_id") or ""
        return str(self.cache_format % {"scope": self.scope, "ident": f"{self.get_ident(request)}:{who}"})


class TokenView(oauth_views.TokenView):  # type: ignore[misc]
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, self):
            wait = int(throttle.wait() or 1) + 1
            response = json_error(
                429, "throttled", "Too many login attempts; try again later.", {"retry_after_seconds": wait}
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)
