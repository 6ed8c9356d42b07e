from __future__ import annotations

from django.urls import path

import letsema_api.borrowers.converters  # noqa: F401 - registers the "ref" path converter
from letsema_api.borrowers import apis
from letsema_api.common.transactions import reads_outside_transaction

urlpatterns = [
    path("borrowers/", apis.BorrowerListCreateApi.as_view(), name="borrowers"),
    path("borrowers/<ref:borrower_id>/", reads_outside_transaction(apis.BorrowerDetailApi), name="borrower-detail"),
    path(
        "borrowers/<ref:borrower_id>/identifiers/", apis.BorrowerIdentifiersApi.as_view(), name="borrower-identifiers"
    ),
    path("borrowers/<ref:borrower_id>/consents/", apis.BorrowerConsentsApi.as_view(), name="borrower-consents"),
    path(
        "borrowers/<ref:borrower_id>/consents/<ref:consent_id>/revoke/",
        apis.ConsentRevokeApi.as_view(),
        name="borrower-consent-revoke",
    ),
    path("borrowers/<ref:borrower_id>/verify/", apis.BorrowerVerifyApi.as_view(), name="borrower-verify"),
]
