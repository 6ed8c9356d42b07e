"""kopf handlers; importing this package registers them (``kopf run -m letsema_operator``)."""

from letsema_operator.handlers import registry, startup, tenant

__all__ = ["registry", "startup", "tenant"]
