from django.apps import AppConfig


class ReportingConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.reporting"
    label = "reporting"
    default_auto_field = "django.db.models.BigAutoField"
