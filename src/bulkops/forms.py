"""The bulk update form: one "set this field" switch and one value input per allowed field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _

SET_PREFIX = "set_"


class BulkUpdateForm(forms.Form):
    """Only the fields whose switch is on are validated and applied."""

    model: type[models.Model]
    field_names: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The list page has its own forms (filters): keep ids apart.
        kwargs.setdefault("auto_id", "bulkops_%s")
        super().__init__(*args, **kwargs)
        for name in self.field_names:
            value_field = self.fields[name]
            value_field.required = False
            value_field.widget.attrs.setdefault("class", "bulkops-input")
            label = _("Set %(field)s") % {"field": value_field.label}
            self.fields[SET_PREFIX + name] = forms.BooleanField(
                required=False,
                label=label,
                widget=forms.CheckboxInput(attrs={"aria-label": label, "class": "bulkops-check"}),
            )

    def rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        """(switch, value) pairs, in the configured order, for templates."""
        return [(self[SET_PREFIX + name], self[name]) for name in self.field_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.chosen(cleaned):
            raise forms.ValidationError(_("Choose at least one field to set."))
        for name in self.chosen(cleaned):
            field = self.model._meta.get_field(name)
            assert isinstance(field, models.Field)
            value = cleaned.get(name)
            empty = value in self.fields[name].empty_values
            if empty and not isinstance(field, models.BooleanField) and not field.null:
                if not field.blank:
                    self.add_error(name, _("This field is required."))
                else:
                    cleaned[name] = "" if field.empty_strings_allowed else value
        return cleaned

    def chosen(self, cleaned: dict[str, Any] | None = None) -> list[str]:
        data = self.cleaned_data if cleaned is None else cleaned
        return [name for name in self.field_names if data.get(SET_PREFIX + name)]

    def values(self) -> dict[str, Any]:
        """The values to submit, for the chosen fields only."""
        return {name: self.cleaned_data.get(name) for name in self.chosen()}


def bulk_update_form_factory(
    model: type[models.Model],
    fields: list[str],
    form: type[BulkUpdateForm] = BulkUpdateForm,
) -> type[BulkUpdateForm]:
    """A ``BulkUpdateForm`` with each model field's own form field (choices, widgets)."""
    base_fields = forms.fields_for_model(model, fields=fields)
    attrs: dict[str, Any] = {
        **base_fields,
        "model": model,
        "field_names": list(fields),
        "__module__": form.__module__,
    }
    for name in fields:
        attrs[name].label = capfirst(attrs[name].label or name)
    return type(f"{model.__name__}BulkUpdateForm", (form,), attrs)
