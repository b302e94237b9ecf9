"""Fields that no export writes unless a definition names them (docs/security.md).

A field is sensitive when its name or its class says password (``auth.User.password``,
``api_password``, a ``PasswordField``), when ``BULKOPS["SENSITIVE_FIELDS"]`` lists it
as ``"app_label.model.field"``, or when its model lists it in ``bulkops_sensitive_fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from bulkops.conf import settings

MODEL_ATTRIBUTE = "bulkops_sensitive_fields"

_PASSWORD = re.compile(r"pass(word|wd|phrase)|(^|_)pwd(_|$)", re.IGNORECASE)


def is_password_field(model_field: Any) -> bool:
    return bool(
        _PASSWORD.search(getattr(model_field, "name", "") or "")
        or _PASSWORD.search(type(model_field).__name__)
    )


def is_sensitive(model_field: Any, model: type[models.Model] | None = None) -> bool:
    """Whether an export leaves ``model_field`` out unless a definition names it.

    ``model`` is the model the field is read through, when it is not the one that
    defines it (a child of a multi-table parent, a proxy): its marks count too.
    """
    if is_password_field(model_field):
        return True
    name = getattr(model_field, "name", None)
    owners = {m for m in (getattr(model_field, "model", None), model) if m is not None}
    if name is None or not owners:
        return False
    listed = _listed_in_settings()
    return any(
        name in _listed_on_model(owner) or f"{owner._meta.label_lower}.{name}" in listed
        for owner in owners
    )


def _listed_on_model(model: type[models.Model]) -> set[str]:
    names: set[str] = set()
    # Subclasses (and proxies) keep what an abstract or concrete parent marked.
    for klass in model.__mro__:
        names.update(getattr(klass, MODEL_ATTRIBUTE, None) or ())
    return names


def _listed_in_settings() -> set[str]:
    listed: set[str] = set()
    for entry in settings.SENSITIVE_FIELDS or ():
        label, _, field = str(entry).rpartition(".")
        # Model labels are matched as Django matches them (any case); field names exactly.
        listed.add(f"{label.lower()}.{field}")
    return listed


def unknown_settings_entries() -> Iterator[tuple[str, str]]:
    """``(entry, problem)`` for each ``SENSITIVE_FIELDS`` entry naming no model field."""
    entries = settings.SENSITIVE_FIELDS
    if isinstance(entries, str):
        yield entries, "SENSITIVE_FIELDS must be a list of strings, not one string"
        return
    for entry in entries or ():
        label, _, field = str(entry).rpartition(".")
        if not label or not field or "." not in label:
            yield str(entry), 'write it as "app_label.model.field"'
            continue
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            yield str(entry), f'there is no model "{label}"'
            continue
        try:
            model._meta.get_field(field)
        except FieldDoesNotExist:
            yield str(entry), f'{label} has no field "{field}"'
