from __future__ import annotations

from django.urls import path

from letsema_api.reporting import apis

urlpatterns = [
    path("reports/portfolio/", apis.PortfolioReportApi.as_view(), name="report-portfolio"),
    path("reports/par/", apis.ParReportApi.as_view(), name="report-par"),
    path("reports/ageing/", apis.AgeingReportApi.as_view(), name="report-ageing"),
    path("reports/collections/", apis.CollectionsReportApi.as_view(), name="report-collections"),
]
