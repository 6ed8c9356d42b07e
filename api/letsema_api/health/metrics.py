"""Prometheus metrics of a tenant process and the middleware that counts requests.

The ``view`` label is the URL pattern's name (never the raw path, which would
explode the number of series); requests that match no route count as ``unmatched``.
Under gunicorn with several workers, set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
multiprocess mode) so the scrape sums the workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("letsema_http_requests", "HTTP requests answered", ["view", "method", "status"])
LATENCY = Histogram(
    "letsema_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LEASE_TTL = Gauge("letsema_db_credential_lease_ttl_seconds", "Validity left on the database credential's Vault lease")
REPLICA_LAG = Gauge("letsema_replica_lag_seconds", "Replay lag of the read replica at its last health check")


def _lease_ttl() -> float:
    from letsema_api.db.credentials import default_manager

    remaining = default_manager().remaining_seconds()
    return -1.0 if remaining is None else remaining


LEASE_TTL.set_function(_lease_ttl)


class MetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route or "unnamed") if match else "unmatched"
        LATENCY.labels(view=view, method=request.method or "").observe(time.perf_counter() - started)
        REQUESTS.labels(view=view, method=request.method or "", status=str(response.status_code)).inc()
        return response
