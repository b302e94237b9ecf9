"""The benchmark site for gunicorn, static files included (htmx, bulkops.css).

Static files are served by Django's staticfiles handler, as ``runserver`` does, so the
load benchmark's browsers load htmx without a separate web server.
"""

from __future__ import annotations

import os

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
application = StaticFilesHandler(get_wsgi_application())
