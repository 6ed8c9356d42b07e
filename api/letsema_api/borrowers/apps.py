from django.apps import AppConfig


class BorrowersConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.borrowers"
    label = "borrowers"
    default_auto_field = "django.db.models.BigAutoField"
