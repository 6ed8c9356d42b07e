from __future__ import annotations

from django.urls import path

from letsema_api.audit import apis

urlpatterns = [
    path("audit-events/", apis.AuditEventListApi.as_view(), name="audit-events"),
]
