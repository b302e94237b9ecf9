"""Celery app for EXAMPLE_BACKEND=celery: celery -A example worker (from example_project/)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
app = Celery("example")
app.config_from_object("django.conf:settings", namespace="CELERY")
