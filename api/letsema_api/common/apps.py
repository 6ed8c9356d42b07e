from django.apps import AppConfig


class CommonConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.common"
    label = "common"
    default_auto_field = "django.db.models.BigAutoField"
