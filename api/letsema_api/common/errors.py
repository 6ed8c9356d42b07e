"""The one place errors become HTTP responses: ``{"code", "message", "details"}``.

- ``letsema_core.errors.DomainError`` (and subclasses anywhere) → its ``http_status``, ``code``,
  ``message`` and ``details`` (``field`` and ``rule`` for validation errors).
- DRF ``ValidationError`` → 400 ``validation_error`` with the first ``field``/``rule`` and every error.
- authentication → 401, permission → 403, not found → 404, ``IntegrityError`` → 409,
  oversized body → 413, throttled → 429 (with ``Retry-After``).
- anything else → Django's ``handler500``, JSON too.

Every handled error marks the request's transaction for rollback (``ATOMIC_REQUESTS``): a failed
request writes nothing. Views never catch-and-format.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from letsema_api.vault import VaultUnavailable
from letsema_core.errors import DomainError

log = logging.getLogger(__name__)

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ParseError: "parse_error",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def _is_leaf(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"message", "code"}


def _flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested ``get_full_details()`` as a flat list of ``{field, rule, message}`` (fields dotted)."""
    if _is_leaf(detail):
        return [{"field": path or "non_field_errors", "rule": str(detail["code"]), "message": str(detail["message"])}]
    out: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            out += _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list):
        # A list of leaves is several errors of one field; anything else is a list of items.
        leaves = all(_is_leaf(item) for item in detail)
        for index, item in enumerate(detail):
            out += _flatten(item, path if leaves else (f"{path}.{index}" if path else str(index)))
    return out


def validation_details(exc: drf.ValidationError) -> dict[str, Any]:
    errors = _flatten(exc.get_full_details())
    first = errors[0] if errors else {"field": "non_field_errors", "rule": "invalid"}
    return {"field": first["field"], "rule": first["rule"], "errors": errors}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``. Returns None (→ 500) only for unexpected exceptions."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        status, body = exc.http_status, error_body(exc.code, exc.message, exc.details)
    elif isinstance(exc, RequestDataTooBig):
        status, body = 413, error_body("payload_too_large", "The request body is too large.")
    elif isinstance(exc, (Http404, drf.NotFound)):
        status, body = 404, error_body("not_found", "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        status, body = 403, error_body("permission_denied", "You do not have permission to perform this action.")
    elif isinstance(exc, drf.ValidationError):
        status, body = 400, error_body("validation_error", "Invalid input.", validation_details(exc))
    elif isinstance(exc, VaultUnavailable):
        # Transit or KV did not answer (PII could not be encrypted or read): retrying later is safe and
        # nothing was written (the request's transaction rolls back).
        log.warning("Vault unavailable during a request: %s", exc)
        status, body = 503, error_body("vault_unavailable", "The secrets service is unavailable; try again later.")
        headers["Retry-After"] = "5"
    elif isinstance(exc, IntegrityError):
        log.info("integrity error mapped to 409: %s", exc)
        status, body = 409, error_body("conflict", "The request conflicts with the current state.")
    elif isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), str(exc.default_code))
        status, body = exc.status_code, error_body(code, str(exc.detail))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = str(exc.auth_header)
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
            body["details"] = {"retry_after_seconds": int(exc.wait) + 1}
    else:
        return None
    set_rollback()
    return Response(body, status=status, headers=headers)


def json_error(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, details), status=status)


# Django's own handlers (``handler400``/``403``/``404``/``500`` in urls.py): JSON for non-DRF paths too.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return json_error(413, "payload_too_large", "The request body is too large.")
    return json_error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(403, "permission_denied", "You do not have permission to perform this action.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error(404, "not_found", "Not found.", {"path": request.path})


def server_error(request: HttpRequest) -> JsonResponse:
    return json_error(500, "server_error", "Internal server error. Quote the X-Request-ID when reporting it.")
