from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "letsema_api.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
