from django.apps import AppConfig


class CreditConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.credit"
    label = "credit"
    default_auto_field = "django.db.models.BigAutoField"
