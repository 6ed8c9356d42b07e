from __future__ import annotations

from django.urls import path

import letsema_api.borrowers.converters  # noqa: F401 - registers the "ref" path converter
from letsema_api.credit import apis

urlpatterns = [
    path("borrowers/<ref:borrower_id>/credit-file/", apis.BorrowerCreditFileApi.as_view(), name="borrower-credit-file"),
    path("credit-reports/", apis.CreditReportCreateApi.as_view(), name="credit-reports"),
    path("credit-disputes/", apis.CreditDisputeListCreateApi.as_view(), name="credit-disputes"),
    path(
        "credit-disputes/<ref:dispute_id>/resolve/",
        apis.CreditDisputeResolveApi.as_view(),
        name="credit-dispute-resolve",
    ),
]
