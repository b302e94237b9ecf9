"""Bulk update: one UPDATE per chunk, or ``full_clean()`` + ``save()`` per object.

Values are validated once at submit time with the model field's own validation.
A chunk whose UPDATE breaks a unique constraint is applied again row by row inside
savepoints, so only the offending rows fail (with the model's own message) and the
job goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulkops import texts
from bulkops.forms import SET_PREFIX, BulkUpdateForm, bulk_update_form_factory
from bulkops.operations.base import Operation
from bulkops.operations.chunks import chunk_queryset
from bulkops.operations.steps import Confirmation, Step
from bulkops.registry import register

if TYPE_CHECKING:
    from bulkops.context import Batch, RunContext

# "queryset": one UPDATE statement per chunk, no save() and no signals.
# "objects": full_clean() and save() on every object, with pre_save/post_save signals.
MODES = ("queryset", "objects")


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
    """Set the same values on every selected row."""

    name = "update"
    label = gettext_lazy("Update")
    requires_queryset = True
    permission = "change"
    locks_model = True
    shardable = True

    api_params_key = "values"
    step_template = "update_form"

    # The step: a form with one "set this field" switch per field the surface offers,
    # ``options={"fields": [...], "mode": "queryset", "form_class": BulkUpdateForm}``.
    def get_form(self, step: Step, data: Mapping[str, Any] | None = None) -> forms.Form | None:
        fields = list(step.options.get("fields") or ())
        if not fields:
            raise ImproperlyConfigured(
                "The update operation needs the fields it may set: "
                'options={"fields": [...]} (BulkMixin.bulk_update_fields, '
                'bulk_action("update", options=...)).'
            )
        form_class = step.options.get("form_class") or BulkUpdateForm
        return bulk_update_form_factory(step.model, fields, form_class)(data)

    def params_from_form(self, form: forms.Form, step: Step) -> dict[str, Any]:
        assert isinstance(form, BulkUpdateForm)
        return {"values": form.values(), "mode": step.options.get("mode") or "queryset"}

    def form_data(self, params: Mapping[str, Any], step: Step) -> dict[str, Any]:
        """Values sent without the page's form, checked by that same form.

        A field the surface does not offer is refused by name rather than ignored, so
        an API client learns that its change was not applied.
        """
        allowed = list(step.options.get("fields") or ())
        unknown = [name for name in params if name not in allowed]
        if unknown:
            raise ValidationError(
                {
                    name: _("%(field)s cannot be set here; fields offered: %(allowed)s.")
                    % {"field": name, "allowed": ", ".join(allowed)}
                    for name in unknown
                }
            )
        if not params:
            raise ValidationError(_("Give at least one field to set, as an object."))
        data: dict[str, Any] = {}
        for name, value in params.items():
            data[name] = value
            data[SET_PREFIX + name] = True
        return data

    def get_confirmation(self, step: Step) -> Confirmation | None:
        return None  # the form is the step: its button runs the update

    def clean_params(
        self, params: dict[str, Any], *, model: Any, queryset: Any, user: Any
    ) -> dict[str, Any]:
        values = params.get("values")
        if not isinstance(values, dict) or not values:
            raise ValidationError({"values": "Choose at least one field to set."})
        mode = params.get("mode") or "queryset"
        if mode not in MODES:
            raise ValidationError({"mode": f"Choose one of {', '.join(MODES)}."})
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
        return {
            **params,
            "mode": mode,
            "values": {name: _prep(model, name, v) for name, v in cleaned.items()},
        }

    def get_label(self, task: Any) -> texts.Text | str:
        label = super().get_label(task)
        names = ", ".join(task.params.get("values", {}))
        return texts.gettext("%(label)s: %(fields)s", label=label, fields=names) if names else label

    def run(self, ctx: RunContext) -> dict[str, Any]:
        queryset = ctx.queryset.using(ctx.db)
        model = queryset.model
        values = _from_params(model, ctx.params["values"])
        manager = model._base_manager.using(ctx.db)
        per_object = ctx.params.get("mode") == "objects"
        for batch in ctx.batches(queryset):
            with batch:
                if per_object:
                    update_objects(manager, batch, values)
                else:
                    update_chunk(chunk_queryset(queryset, batch), manager, batch, values)
        return {"updated": ctx.task.succeeded_count}


def update_chunk(
    rows: models.QuerySet[Any],
    manager: models.Manager[Any],
    batch: Batch,
    values: dict[str, Any],
) -> None:
    if not may_violate_constraints(manager.model, values):
        updated = rows.update(**values)
        batch.succeeded(updated)
        batch.skipped(len(batch) - updated)
        return
    try:
        with transaction.atomic(using=manager.db):
            updated = rows.update(**values)
    except IntegrityError:
        update_rows(manager, batch, values)
        return
    batch.succeeded(updated)
    batch.skipped(len(batch) - updated)


def may_violate_constraints(model: type[models.Model], values: dict[str, Any]) -> bool:
    """Whether setting ``values`` can break a unique or check constraint of the table.

    Only then is the chunk's UPDATE wrapped in a savepoint (two more round trips).
    """
    opts = model._meta
    names = {f.attname for f in opts.concrete_fields if f.attname in values}
    names |= {f.name for f in opts.concrete_fields if f.attname in values}
    if any(f.unique and not f.primary_key for f in opts.concrete_fields if f.name in names):
        return True
    if any(names & set(group) for group in opts.unique_together):
        return True
    return any(
        not isinstance(c, models.UniqueConstraint) or names & set(c.fields) or c.expressions
        for c in opts.total_unique_constraints + list(opts.constraints)
    )


def update_rows(manager: models.Manager[Any], batch: Batch, values: dict[str, Any]) -> None:
    """The savepoint fallback: each row on its own, failures reported with the reason."""
    objects = manager.in_bulk(batch.items)
    for pk in batch.items:
        obj = objects.get(pk)
        if obj is None:
            batch.skipped()
            continue
        for attname, value in values.items():
            setattr(obj, attname, value)
        try:
            obj.validate_unique()
            obj.validate_constraints()
        except ValidationError as exc:
            _row_error(batch, obj, exc)
            continue
        try:
            with transaction.atomic(using=manager.db):
                manager.filter(pk=pk).update(**values)
        except IntegrityError as exc:
            batch.error(_integrity_message(exc), ref=pk, values=_shown(values))
            continue
        batch.succeeded()


def update_objects(manager: models.Manager[Any], batch: Batch, values: dict[str, Any]) -> None:
    """``full_clean()`` and ``save()`` per object: model validation, save() and signals."""
    names = list(values)
    found = 0
    for obj in manager.filter(pk__in=batch.items).order_by("pk"):
        found += 1
        for attname, value in values.items():
            setattr(obj, attname, value)
        try:
            obj.full_clean()
        except ValidationError as exc:
            _row_error(batch, obj, exc)
            continue
        try:
            with transaction.atomic(using=manager.db):
                obj.save(update_fields=names)
        except IntegrityError as exc:
            batch.error(_integrity_message(exc), ref=obj.pk, values=_shown(values))
            continue
        batch.succeeded()
    batch.skipped(len(batch) - found)


def _row_error(batch: Batch, obj: models.Model, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        field, messages = next(iter(exc.message_dict.items()))
        field = "" if field == "__all__" else field
        message = " ".join(messages)
    else:
        field, message = "", " ".join(exc.messages)
    values = {field: _json(getattr(obj, field, None))} if field else {}
    batch.error(f"{obj}: {message}", ref=obj.pk, field=field, values=values)


def _integrity_message(exc: IntegrityError) -> texts.Text:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return texts.gettext("The database refused the change: %(error)s", error=first_line)


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _json(value) for name, value in values.items()}


def _json(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


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
