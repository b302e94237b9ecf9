"""The step before an operation runs: its form and its confirmation.

An operation declares both (``Operation.get_form``, ``Operation.get_confirmation``);
the list view, the admin and the JSON API render whatever it declares, so a project's
own operation gets the same treatment as ``delete`` and ``update`` (docs/admin.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db import models

from bulkops.types import UserLike


@dataclasses.dataclass(frozen=True)
class Step:
    """What a surface knows when it asks an operation for its step.

    ``options`` is the surface's configuration for this operation, for example the
    fields an update may set (``{"fields": [...], "mode": "queryset"}``).
    """

    model: type[models.Model]
    queryset: models.QuerySet[Any]
    user: UserLike | None = None
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Confirmation:
    """What the user reads before saying yes.

    ``counts`` are ``(name, number)`` rows, e.g. the rows per model a delete removes;
    ``warning`` is shown highlighted, with ``warning_counts`` under it.
    """

    counts: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    warning: str = ""
    warning_counts: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    button: str = ""
    danger: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": [{"name": str(n), "count": c} for n, c in self.counts],
            "warning": str(self.warning),
            "warning_counts": [{"name": str(n), "count": c} for n, c in self.warning_counts],
        }


def describe_form(form: forms.BaseForm) -> list[dict[str, Any]]:
    """The form's fields as a JSON API client needs them to fill the ``params``."""
    described = []
    for name, field in form.fields.items():
        entry: dict[str, Any] = {
            "name": name,
            "label": str(field.label or name),
            "required": field.required,
            "type": type(field).__name__,
        }
        if field.help_text:
            entry["help_text"] = str(field.help_text)
        choices = getattr(field, "choices", None)
        if choices is not None:
            entry["choices"] = [
                {"value": value, "label": str(label)}
                for value, label in choices
                if value not in ("", None)
            ]
        described.append(entry)
    return described
