from django.apps import AppConfig


class DemoConfig(AppConfig):  # type: ignore[misc]
    name = "letsema_api.demo"
    label = "demo"
    verbose_name = "Demo data for the local platform"
