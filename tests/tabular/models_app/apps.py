from __future__ import annotations

from django.apps import AppConfig


class ModelsAppConfig(AppConfig):
    name = "tests.tabular.models_app"
    label = "tabular_models"
    default_auto_field = "django.db.models.BigAutoField"
