"""ASGI entry point: ``uvicorn example.asgi:application`` serves the live progress streams."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
application = get_asgi_application()

from django.conf import settings  # noqa: E402 - after the app registry is ready

if settings.DEBUG:
    # As runserver does: serve the static files in development.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
