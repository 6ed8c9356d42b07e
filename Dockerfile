# syntax=docker/dockerfile:1.7
# The tenant API image (one image, one tenant per container; configured entirely by environment).
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY letsema_core ./letsema_core
COPY api ./api
COPY operator ./operator
COPY letsema_dev ./letsema_dev
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[api]'

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --home-dir /app letsema
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
ENV PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=letsema_api.settings
EXPOSE 8000
# Secrets come from Vault/OpenBao at start (VAULT_ADDR + a Kubernetes or AppRole login), never from the image.
CMD ["gunicorn", "letsema_api.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
