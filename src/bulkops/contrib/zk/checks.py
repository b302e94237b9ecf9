"""``manage.py check`` reports a broken ZK configuration instead of a failing job."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .conf import zk_setting


@checks.register("bulkops")
def check_zk_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if importlib.util.find_spec("zk") is None:
        errors.append(
            checks.Error(
                "bulkops.contrib.zk is installed but pyzk is not.",
                hint="pip install 'django-bulkops[zk]'",
                id="bulkops_zk.E001",
            )
        )
    if zk_setting("EMPLOYEE_MODEL") or zk_setting("MAPPING"):
        from .mapping import EmployeeMapping

        try:
            mapping = EmployeeMapping.from_settings()
        except (ImproperlyConfigured, LookupError, ImportError, ValueError) as exc:
            errors.append(
                checks.Error(str(exc), hint="See docs/zk.md, 'Mapping'.", id="bulkops_zk.E002")
            )
        else:
            for key, attribute in mapping.fields.items():
                if not hasattr(mapping.model, attribute) and not _is_field(mapping, attribute):
                    errors.append(
                        checks.Error(
                            f"BULKOPS['ZK']['FIELDS']['{key}'] names '{attribute}', which "
                            f"{mapping.model.__name__} does not have.",
                            id="bulkops_zk.E003",
                        )
                    )
    return errors


def _is_field(mapping: Any, attribute: str) -> bool:
    try:
        mapping.model._meta.get_field(attribute)
    except Exception:
        return False
    return True
