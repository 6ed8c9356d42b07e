"""``/api/v1/payments/``: the M-Pesa callback and the suspense queue."""

from __future__ import annotations

from django.urls import path, re_path

from letsema_api.payments import apis

ITEM = r"(?P<item_id>[A-Za-z0-9._-]{1,64})"

urlpatterns = [
    path("payments/mpesa/callback/", apis.MpesaCallbackApi.as_view(), name="payments-mpesa-callback"),
    path("payments/suspense/", apis.SuspenseListApi.as_view(), name="payments-suspense"),
    re_path(rf"^payments/suspense/{ITEM}/$", apis.SuspenseDetailApi.as_view(), name="payments-suspense-item"),
    re_path(
        rf"^payments/suspense/{ITEM}/resolve/$", apis.SuspenseResolveApi.as_view(), name="payments-suspense-resolve"
    ),
]
