"""ASGI entry point. Fails fast, in one line, without Vault."""

from django.core.asgi import get_asgi_application

from letsema_api.startup import start

start()
application = get_asgi_application()
