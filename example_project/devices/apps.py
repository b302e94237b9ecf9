from __future__ import annotations

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    """The example's time clock page: employees, devices, and the three zk jobs."""

    name = "devices"
    default_auto_field = "django.db.models.BigAutoField"
