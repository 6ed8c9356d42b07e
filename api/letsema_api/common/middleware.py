"""Refuse oversized bodies up front (413 JSON) instead of reading them; a database outage is a 503."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from letsema_api.common.errors import json_error

log = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """The tenant's PostgreSQL did not answer (a restart, a failover): 503 ``database_unavailable`` with
    ``Retry-After``, not a 500 — clients can tell an outage to retry through (with the same
    ``Idempotency-Key``) from a bug. Nothing was written: the request's transaction never committed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            return database_unavailable(exc)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable(exception)
        return None


def database_unavailable(exc: Exception) -> HttpResponse:
    log.warning("database unavailable during a request: %s", (str(exc).strip().splitlines() or [repr(exc)])[0])
    response = json_error(503, "database_unavailable", "The database is unavailable; try again later.")
    response["Retry-After"] = "5"
    return response


class BodySizeLimitMiddleware:
    """A declared ``Content-Length`` over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` gets 413 before the view runs.

    Bodies without a length (chunked) are still bounded by Django when read; DRF maps that to 413.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "bad_request", "Content-Length is not a number.")
        if limit is not None and length > limit:
            return json_error(
                413, "payload_too_large", "The request body is too large.", {"max_bytes": limit, "bytes": length}
            )
        return self.get_response(request)
