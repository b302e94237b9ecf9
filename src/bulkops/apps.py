from __future__ import annotations

from contextlib import suppress
from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkOpsConfig(AppConfig):
    name = "bulkops"
    verbose_name = _("Bulk operations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bulkops import checks  # noqa: F401  (registers the system checks)
        from bulkops.conf import settings
        from bulkops.operations import delete, exports, imports, update  # noqa: F401  (built-in operations)

        # A worker process only learns the Celery task / Django task by importing the
        # backend module; doing it here means no extra "imports" setting for users.
        if settings.BACKEND.startswith("bulkops.backends."):
            with suppress(ImportError):  # reported by the system check bulkops.E002
                import_module(settings.BACKEND.rsplit(".", 1)[0])
