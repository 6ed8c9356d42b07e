from django.apps import AppConfig


class AuditConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
