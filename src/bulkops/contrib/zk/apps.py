from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ZKConfig(AppConfig):
    name = "bulkops.contrib.zk"
    label = "bulkops_zk"
    verbose_name = _("ZKTeco time clocks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        try:
            from . import operations, pushing  # noqa: F401  (register the zk.* operations)
        except ImportError as exc:
            if exc.name != "zk":
                raise
            # pyzk is missing: the system check bulkops_zk.E001 says how to install it.
