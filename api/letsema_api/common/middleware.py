"""Refuse oversized bodies up front (413 JSON) instead of reading them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from letsema_api.common.errors import json_error


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
