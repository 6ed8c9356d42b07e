from __future__ import annotations

from django.urls import path

from letsema_api.ledger import apis

urlpatterns = [
    path("journal-entries/", apis.JournalEntryListApi.as_view(), name="journal-entries"),
    path("reports/trial-balance/", apis.TrialBalanceApi.as_view(), name="trial-balance"),
]
