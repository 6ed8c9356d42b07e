from django.apps import AppConfig


class ProductsConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.products"
    label = "products"
    default_auto_field = "django.db.models.BigAutoField"
