"""Answer Kubernetes probes and Prometheus scrapes before host validation.

Probes and scrapes address the pod by IP (``Host: 10.x.y.z:8000``), which ``ALLOWED_HOSTS`` rightly
does not list; Django's ``CommonMiddleware`` would answer them 400. These three paths never build
URLs from the Host header, so they are served here, ahead of it. Everything else stays host-checked.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        return response
