from django.apps import AppConfig


class OutboxConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.outbox"
    label = "outbox"
    default_auto_field = "django.db.models.BigAutoField"
