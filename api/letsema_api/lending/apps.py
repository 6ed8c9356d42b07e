from django.apps import AppConfig


class LendingConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.lending"
    label = "lending"
    default_auto_field = "django.db.models.BigAutoField"
