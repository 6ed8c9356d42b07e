from django.apps import AppConfig


class PaymentsConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"
