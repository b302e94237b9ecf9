"""How the project's employee model becomes device users, and back.

Configured with ``BULKOPS["ZK"]["EMPLOYEE_MODEL"]`` and ``["FIELDS"]``; a subclass
named in ``["MAPPING"]`` can override any hook.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

from .conf import zk_setting
from .records import USER_ADMIN, USER_DEFAULT, DeviceUser

#: The device user fields a mapping can fill; only ``user_id`` is required.
DEVICE_FIELDS = ("user_id", "name", "card", "privilege", "password", "group_id")


class EmployeeMapping:
    """``fields`` maps a device field name to an attribute of the employee model."""

    model: type[models.Model]
    fields: dict[str, str]

    def __init__(
        self, model: type[models.Model] | str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        model = model or getattr(self, "model", None) or zk_setting("EMPLOYEE_MODEL")
        if not model:
            raise ImproperlyConfigured(
                "Set BULKOPS['ZK']['EMPLOYEE_MODEL'] (e.g. 'hr.Employee') to sync employees "
                "with time clocks, or pass a model to EmployeeMapping."
            )
        self.model = apps.get_model(model) if isinstance(model, str) else model
        self.fields = dict(fields or getattr(self, "fields", None) or zk_setting("FIELDS"))
        unknown = set(self.fields) - set(DEVICE_FIELDS)
        if unknown:
            raise ImproperlyConfigured(
                f"BULKOPS['ZK']['FIELDS'] has unknown keys {sorted(unknown)}; "
                f"use some of {list(DEVICE_FIELDS)}."
            )
        if "user_id" not in self.fields:
            raise ImproperlyConfigured(
                "BULKOPS['ZK']['FIELDS'] must name the employee field that gives the device "
                "user id, e.g. {'user_id': 'badge_number', 'name': 'full_name'}."
            )

    @classmethod
    def from_settings(cls) -> EmployeeMapping:
        path = zk_setting("MAPPING")
        mapping_class = import_string(path) if path else cls
        if not (isinstance(mapping_class, type) and issubclass(mapping_class, EmployeeMapping)):
            raise ImproperlyConfigured(
                f"BULKOPS['ZK']['MAPPING'] {path!r} is not an EmployeeMapping"
            )
        return mapping_class()

    # Hooks ------------------------------------------------------------------------
    def get_queryset(self) -> models.QuerySet[Any]:
        return self.model._default_manager.all()

    @property
    def user_id_field(self) -> str:
        return self.fields["user_id"]

    def user_id_of(self, employee: models.Model) -> str:
        return _text(self._value(employee, "user_id")).strip()

    def to_device_user(self, employee: models.Model) -> DeviceUser:
        privilege = self._value(employee, "privilege")
        return DeviceUser(
            user_id=self.user_id_of(employee),
            name=_text(self._value(employee, "name")),
            privilege=USER_ADMIN if privilege in (True, USER_ADMIN) else int(privilege or 0),
            password=_text(self._value(employee, "password")),
            group_id=_text(self._value(employee, "group_id")),
            card=int(self._value(employee, "card") or 0),
        )

    def employee_values(self, user: DeviceUser) -> dict[str, Any]:
        """Field values for the employee of ``user``; only real model fields are set."""
        values: dict[str, Any] = {}
        for key, attribute in self.fields.items():
            try:
                field = self.model._meta.get_field(attribute)
            except FieldDoesNotExist:
                continue  # a property or method: readable, not writable
            if not field.concrete or field.primary_key:
                continue
            value: Any = getattr(user, key)
            if key == "privilege" and isinstance(field, models.BooleanField):
                value = value == USER_ADMIN
            elif key == "card" and not value and field.null:
                value = None
            values[field.attname] = field.to_python(value)
        return values

    def _value(self, employee: models.Model, key: str) -> Any:
        attribute = self.fields.get(key)
        if not attribute:
            return USER_DEFAULT if key in ("privilege", "card") else ""
        value = getattr(employee, attribute)
        return value() if callable(value) else value


def _text(value: Any) -> str:
    return "" if value is None else str(value)
