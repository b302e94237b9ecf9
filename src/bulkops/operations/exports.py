"""The ``export`` operation: a queryset to .xlsx, .csv, .ods or .json, saved as the
task's result file. Its step is a form: the format and the columns."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.files import File
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from bulkops import lifecycle, texts
from bulkops.exceptions import BulkOpsError
from bulkops.operations.base import Operation
from bulkops.operations.steps import Confirmation, Step
from bulkops.registry import register
from bulkops.sensitive import is_sensitive
from bulkops.tabular import write_csv, write_xlsx
from bulkops.tabular.definition import definition_for
from bulkops.tabular.formats import write_json, write_ods
from bulkops.tabular.stored import read_part, write_part

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from bulkops.context import RunContext
    from bulkops.models import BulkTask

FORMATS = ("xlsx", "csv", "ods", "json")
PART_SUFFIX = ".bulkops-part"
FORMAT_LABELS = {
    "xlsx": _("Excel (.xlsx)"),
    "csv": _("CSV (.csv)"),
    "ods": _("OpenDocument (.ods)"),
    "json": _("JSON (.json)"),
}


class ExportForm(forms.Form):
    """The export's step: a format and the columns, every allowed column ticked."""

    format = forms.ChoiceField(
        label=_("Format"), choices=list(FORMAT_LABELS.items()), initial="xlsx"
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"), widget=forms.CheckboxSelectMultiple, required=True
    )

    def __init__(self, *args: Any, columns: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice = self.fields["columns"]
        assert isinstance(choice, forms.MultipleChoiceField)
        choice.choices = columns
        choice.initial = [path for path, _label in columns]


PROGRESS_EVERY = 500


def default_columns(model: type[models.Model]) -> list[str]:
    """The fields an import of the same model reads, so an export can be re-imported.

    Sensitive fields (bulkops.sensitive) are left out unless the model's registered
    definition names them in ``fields``.
    """
    definition = definition_for(model)
    named = set(definition.fields or ())
    paths = []
    for model_field in definition.get_fields():
        if model_field.name not in named and is_sensitive(model_field, model):
            continue
        lookup = definition.get_column(model_field).lookup
        paths.append(f"{model_field.name}__{lookup}" if lookup else model_field.name)
    return paths


def check_not_sensitive(model: type[models.Model], paths: Sequence[str]) -> None:
    """Refuse a column that reads a sensitive field, unless the definition names it.

    Every field along a path counts, so ``owner__password`` is refused like ``password``.
    """
    allowed = set(default_columns(model))
    for path in paths:
        if path in allowed:
            continue
        current: Any = model
        for part in path.split("__"):
            model_field = current._meta.get_field(part)
            if is_sensitive(model_field, current):
                raise ValidationError(
                    {
                        "fields": f'"{path}" is a sensitive field: only an export '
                        "definition that names it can export it."
                    },
                    code="sensitive_field",
                )
            current = getattr(model_field, "related_model", None)


def resolve(model: type[models.Model], path: str) -> tuple[str, models.Field[Any, Any]]:
    """Header and final field of a path such as ``country__code``."""
    current: Any = model
    parts = path.split("__")
    header_field: models.Field[Any, Any] | None = None
    final: models.Field[Any, Any] | None = None
    for index, part in enumerate(parts):
        try:
            final = current._meta.get_field(part)
        except (FieldDoesNotExist, AttributeError):
            raise ValidationError(
                {"fields": f'"{path}" is not a field of {model._meta.verbose_name}.'}
            ) from None
        if index == 0:
            header_field = final
        if index < len(parts) - 1:
            if not final.is_relation or final.many_to_many or final.one_to_many:  # type: ignore[union-attr]
                raise ValidationError({"fields": f'"{path}" does not follow a foreign key.'})
            current = final.related_model  # type: ignore[union-attr]
    assert header_field is not None and final is not None
    return capfirst(str(header_field.verbose_name)), final


def column_label(model: type[models.Model], path: str) -> str:
    header, final = resolve(model, path)
    if "__" in path:
        return f"{header} ({capfirst(str(final.verbose_name))})"
    return header


class ExportOperation(Operation):
    name = "export"
    label = gettext_lazy("Export")
    permission = "view"
    requires_queryset = True
    # Split by primary-key ranges when SHARDING is on: each shard writes its rows as a
    # part file, and after_shards joins the parts in order into the one download.
    shardable = True

    # The step: the format and the columns; ``options={"fields": [...]}`` narrows or
    # widens the columns offered (a sensitive field still needs a definition).
    def get_form(self, step: Step, data: Mapping[str, Any] | None = None) -> forms.Form:
        paths = list(step.options.get("fields") or default_columns(step.model))
        columns = [(path, column_label(step.model, path)) for path in paths]
        return ExportForm(data, columns=columns, auto_id="bulkops_%s")

    def get_confirmation(self, step: Step) -> Confirmation | None:
        return None  # the form is the step

    def params_from_form(self, form: forms.Form, step: Step) -> dict[str, Any]:
        # In the order offered, whatever order the browser sent them in.
        chosen = set(form.cleaned_data["columns"])
        offered = [path for path, _label in form.fields["columns"].choices]  # type: ignore[attr-defined]
        return {
            "format": form.cleaned_data["format"],
            "fields": [path for path in offered if path in chosen],
        }

    def clean_params(
        self,
        params: dict[str, Any],
        *,
        model: type[models.Model] | None,
        queryset: models.QuerySet[Any] | None,
        user: AbstractBaseUser | AnonymousUser | None,
    ) -> dict[str, Any]:
        if model is None:
            raise ValidationError(gettext("An export needs a queryset."))
        file_format = params.get("format", "xlsx")
        if file_format not in FORMATS:
            raise ValidationError(
                {"format": gettext("Choose one of %(formats)s.") % {"formats": ", ".join(FORMATS)}}
            )
        fields = list(params.get("fields") or default_columns(model))
        headers = list(params.get("headers") or [])
        for path in fields:
            resolve(model, path)
        check_not_sensitive(model, fields)
        if headers and len(headers) != len(fields):
            raise ValidationError({"headers": "Give one header per field."})
        return {"format": file_format, "fields": fields, "headers": headers}

    def get_label(self, task: Any) -> texts.Text:
        model = task.model_class
        plural = (
            texts.label(model._meta.verbose_name_plural)
            if model is not None
            else texts.gettext("rows")
        )
        return texts.gettext(
            "Export %(models)s to .%(format)s",
            models=plural,
            format=task.params.get("format", "xlsx"),
        )

    def run(self, ctx: RunContext) -> dict[str, Any]:
        model = ctx.model
        assert model is not None
        params = ctx.params
        fields: list[str] = params["fields"]
        try:
            # Again at run time: a field marked sensitive after the submit is not written.
            check_not_sensitive(model, fields)
        except ValidationError as exc:
            raise BulkOpsError(" ".join(exc.messages)) from None
        resolved = [resolve(model, path) for path in fields]
        headers = _headers(params, resolved)
        queryset = ctx.queryset.order_by("pk")
        if ctx.task.total is None:
            ctx.set_total(queryset.count())
        ctx.progress(stage=texts.gettext("Exporting"), force=True)
        written = 0

        def rows() -> Iterator[Sequence[Any]]:
            nonlocal written
            displays = [_display_map(f) for _, f in resolved]
            for values in queryset.values_list(*fields).iterator(chunk_size=2000):
                if any(displays):
                    values = tuple(
                        d.get(v, v) if d and v is not None else v
                        for d, v in zip(displays, values, strict=True)
                    )
                yield values
                written += 1
                if written % PROGRESS_EVERY == 0:
                    ctx.progress(advance=PROGRESS_EVERY, succeeded=PROGRESS_EVERY)
                    ctx.check_cancelled()

        file_format = params["format"]
        if ctx.shard:
            with tempfile.TemporaryFile() as out:
                write_part(out, rows())
                rest = written % PROGRESS_EVERY
                ctx.progress(advance=rest, succeeded=rest, force=True)
                out.seek(0)
                index = ctx.task.shard_index or 0
                ctx.save_result_file(f"export-part-{index:03d}{PART_SUFFIX}", File(out))
            return {"rows": written, "format": file_format}
        with tempfile.TemporaryFile() as out:
            write_file(out, model, params, headers, rows())
            rest = written % PROGRESS_EVERY
            ctx.progress(
                advance=rest, succeeded=rest, stage=texts.gettext("Saving the file"), force=True
            )
            out.seek(0)
            saved = ctx.save_result_file(file_name(model, file_format), File(out))
        return {"rows": written, "file": saved, "format": file_format}

    def after_shards(self, parent: BulkTask) -> None:
        """Join the shards' parts, in primary-key order, into the parent's file."""
        if parent.status != parent.Status.SUCCEEDED:
            return
        model = parent.model_class
        assert model is not None
        params = parent.params
        headers = _headers(params, [resolve(model, path) for path in params["fields"]])
        manager = type(parent).objects.using(parent._state.db or "default")
        shards = list(manager.filter(shard_of=parent).order_by("shard_index"))

        def rows() -> Iterator[Sequence[Any]]:
            for shard in shards:
                with shard.result_file.open("rb") as part:
                    yield from read_part(part)

        with tempfile.TemporaryFile() as out:
            write_file(out, model, params, headers, rows())
            out.seek(0)
            name = file_name(model, params["format"])
            lifecycle.attach_result_file(parent, name, File(out), "file", format=params["format"])
        for shard in shards:  # the parts are not for download
            shard.result_file.delete(save=False)
        manager.filter(shard_of=parent).update(result_file="")


def _headers(params: Mapping[str, Any], resolved: Sequence[tuple[str, Any]]) -> list[str]:
    """The file's column headers: given ones, or each field's label."""
    return list(params.get("headers") or [header for header, _ in resolved])


def file_name(model: type[models.Model], file_format: str) -> str:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return f"{slugify(str(model._meta.verbose_name_plural)) or 'export'}-{stamp}.{file_format}"


def write_file(
    out: Any,
    model: type[models.Model],
    params: Mapping[str, Any],
    headers: Sequence[str],
    rows: Iterator[Sequence[Any]],
) -> None:
    """The rows in the task's format, as the user downloads them."""
    file_format = params["format"]
    tz = timezone.get_current_timezone()
    title = capfirst(str(model._meta.verbose_name_plural))[:31]
    if file_format == "xlsx":
        write_xlsx(out, headers, rows, sheet_title=title, tz=tz)  # type: ignore[arg-type]
    elif file_format == "ods":
        write_ods(out, headers, rows, sheet_title=title, tz=tz)  # type: ignore[arg-type]
    elif file_format == "json":
        # Keys are the field paths: stable names for programs, not headers.
        write_json(out, params["fields"], rows, tz=tz)  # type: ignore[arg-type]
    else:
        write_csv(out, headers, rows, tz=tz)  # type: ignore[arg-type]


def _display_map(model_field: models.Field[Any, Any]) -> dict[Any, str]:
    # Labels, not stored codes: what people read, and what an import matches back.
    return (
        {value: str(label) for value, label in model_field.flatchoices}
        if model_field.choices
        else {}
    )


register(ExportOperation)
