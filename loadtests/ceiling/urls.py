from __future__ import annotations

from django.urls import path

from ceiling import views

urlpatterns = [
    path("healthz", views.healthz),
    path("constant", views.ConstantApi.as_view()),
    path("rows/<int:row_id>", views.RowApi.as_view()),
    path("write", views.WriteApi.as_view()),
]
