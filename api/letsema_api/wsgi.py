"""WSGI entry point (``gunicorn letsema_api.wsgi``). Fails fast, in one line, without Vault."""

from django.core.wsgi import get_wsgi_application

from letsema_api.startup import start

start()
application = get_wsgi_application()
