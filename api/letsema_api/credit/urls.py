from __future__ import annotations

from django.urls import path

from letsema_api.credit import apis

urlpatterns = [
    path("borrowers/<str:borrower_id>/credit-file/", apis.BorrowerCreditFileApi.as_view(), name="borrower-credit-file"),
    path("credit-reports/", apis.CreditReportCreateApi.as_view(), name="credit-reports"),
    path("credit-disputes/", apis.CreditDisputeListCreateApi.as_view(), name="credit-disputes"),
    path(
        "credit-disputes/<str:dispute_id>/resolve/",
        apis.CreditDisputeResolveApi.as_view(),
        name="credit-dispute-resolve",
    ),
]
