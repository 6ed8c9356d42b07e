from django.apps import AppConfig


class LedgerConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.ledger"
    label = "ledger"
    default_auto_field = "django.db.models.BigAutoField"
