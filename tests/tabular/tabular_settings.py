"""Temporary settings for tests/tabular until tests/settings.py lands; delete then."""

from __future__ import annotations

SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "Europe/Madrid"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "tests.tabular.models_app",
]
