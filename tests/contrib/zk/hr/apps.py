from __future__ import annotations

from django.apps import AppConfig


class HrConfig(AppConfig):
    """A project's own employee model, as the ZK mapping sees it."""

    name = "tests.contrib.zk.hr"
    label = "zk_hr"
    default_auto_field = "django.db.models.BigAutoField"
