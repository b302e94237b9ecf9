from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models

from bulkops.operations.base import Operation
from bulkops.registry import register

if TYPE_CHECKING:
    from bulkops.context import RunContext


def updatable_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        raise ValidationError(
            {name: f"{model._meta.verbose_name} has no field {name!r}."}
        ) from None
    if (
        not isinstance(field, models.Field)
        or not field.concrete
        or field.primary_key
        or not field.editable
        or field.many_to_many
    ):
        raise ValidationError({name: f"The field {name!r} cannot be bulk updated."})
    return field


@register
class UpdateOperation(Operation):
    """Set the same values on every selected row, one UPDATE statement per chunk."""

    name = "update"
    label = "Update"
    requires_queryset = True
    permission = "change"
    locks_model = True

    def clean_params(
        self, params: dict[str, Any], *, model: Any, queryset: Any, user: Any
    ) -> dict[str, Any]:
        values = params.get("values")
        if not isinstance(values, dict) or not values:
            raise ValidationError({"values": "Choose at least one field to set."})
        errors: dict[str, Any] = {}
        cleaned: dict[str, Any] = {}
        for name, raw in values.items():
            try:
                field = updatable_field(model, name)
                cleaned[field.attname] = field.clean(
                    _to_python(field, raw), model(**{field.attname: None})
                )
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return {**params, "values": {name: _prep(model, name, v) for name, v in cleaned.items()}}

    def run(self, ctx: RunContext) -> dict[str, Any]:
        model = ctx.queryset.model
        values = _from_params(model, ctx.params["values"])
        manager = model._base_manager.using(ctx.db)
        for batch in ctx.batches(ctx.queryset):
            with batch:
                updated = manager.filter(pk__in=batch.items).update(**values)
                batch.succeeded(updated)
                batch.skipped(len(batch) - updated)
        return {"updated": ctx.task.succeeded_count}


def _to_python(field: models.Field[Any, Any], raw: Any) -> Any:
    if isinstance(field, models.ForeignKey) and isinstance(raw, models.Model):
        return raw.pk
    return raw


def _prep(model: type[models.Model], attname: str, value: Any) -> Any:
    # Store what JSON can carry; the worker turns it back with the field's to_python.
    if isinstance(value, models.Model):
        return value.pk
    return value


def _from_params(model: type[models.Model], values: dict[str, Any]) -> dict[str, Any]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return {name: fields[name].to_python(value) for name, value in values.items()}
