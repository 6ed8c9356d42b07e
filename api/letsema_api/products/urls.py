from __future__ import annotations

from django.urls import path

import letsema_api.borrowers.converters  # noqa: F401 - registers the "ref" path converter
from letsema_api.products import apis

urlpatterns = [
    path("loan-products/", apis.LoanProductListCreateApi.as_view(), name="loan-products"),
    path("loan-products/<ref:product_id>/", apis.LoanProductDetailApi.as_view(), name="loan-product-detail"),
    path("loan-quotes/", apis.LoanQuoteApi.as_view(), name="loan-quotes"),
]
