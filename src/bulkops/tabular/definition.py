"""Import definitions: which model fields a file fills, and how each row is cleaned."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models
from django.forms import ModelForm

from bulkops import texts

from .cells import CellValue, ErrorCell, cell_text, error_message
from .columns import SKIP, Cleaner, Column, ManyCleaner, build_cleaner, header_names, many_cleaner
from .converters import ConvertOptions
from .errors import TableError
from .headers import match_headers

Mode = Literal["create", "update", "upsert"]
_MISSING = object()


@dataclass(frozen=True)
class RowError:
    """One problem in one row; ``column`` is the header as the user wrote it."""

    row: int
    column: str | None
    message: texts.Text | str

    @property
    def text(self) -> texts.Text:
        if self.column:
            return texts.gettext(
                'Row %(row)s, column "%(column)s": %(message)s',
                row=self.row,
                column=self.column,
                message=self.message,
            )
        return texts.gettext("Row %(row)s: %(message)s", row=self.row, message=self.message)

    def __str__(self) -> str:
        return str(self.text)


@dataclass
class CleanRow:
    row: int
    data: dict[str, Any]
    """attname -> value, ready for ``Model(**data)``."""
    values: list[CellValue]


@dataclass
class ChunkResult:
    rows: list[CleanRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    failed: dict[int, list[CellValue]] = field(default_factory=dict)
    """Row number -> original values of every row with at least one error."""


@dataclass
class CellsCleaned:
    """A chunk after clean_cells(), waiting for finish_chunk()."""

    size: int
    first_row: int
    result: ChunkResult
    pending: list[tuple[int, dict[str, Any], list[CellValue]]]


@dataclass
class BoundColumn:
    position: int
    header: str
    field: models.Field[Any, Any]
    column: Column
    clean: Cleaner
    clean_many: ManyCleaner = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.clean_many = many_cleaner(self.clean)


class ImportDefinition:
    """Describe how a spreadsheet fills a model. Subclass, or instantiate with overrides.

    ::

        class CustomerImport(ImportDefinition):
            model = Customer
            fields = ["name", "email", "country", "joined"]
            lookups = {"country": "code"}
            key_fields = ["email"]
    """

    model: type[models.Model]
    fields: Sequence[str] | None = None
    """Model fields to fill; default every concrete editable field except the auto pk."""
    exclude: Sequence[str] = ()
    columns: Mapping[str, Column] = {}
    lookups: Mapping[str, str] = {}
    """Foreign key -> field of the related model that the file holds, e.g. {"country": "code"}."""
    key_fields: Sequence[str] = ()
    """Default fields that identify an existing row for update and upsert."""
    form_class: type[ModelForm[Any]] | None = None
    """Optional ModelForm run on every row after the field checks (slower)."""
    day_first: bool = True
    decimal_separator: Literal[",", "."] | None = None

    def __init__(self, model: type[models.Model] | None = None, **overrides: Any) -> None:
        if model is not None:
            self.model = model
        for name, value in overrides.items():
            if not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__} has no option {name!r}.")
            setattr(self, name, value)
        if getattr(self, "model", None) is None:
            raise ImproperlyConfigured(f"'{type(self).__name__}' must define 'model'.")

    # Hooks ------------------------------------------------------------------------
    def get_fields(self) -> list[models.Field[Any, Any]]:
        opts = self.model._meta
        if self.fields is not None:
            try:
                return [opts.get_field(name) for name in self.fields]  # type: ignore[misc]
            except FieldDoesNotExist as exc:
                raise ImproperlyConfigured(f"'{type(self).__name__}'.fields: {exc}") from None
        chosen = []
        for model_field in opts.concrete_fields:
            if (
                not model_field.editable
                or model_field.name in self.exclude
                or isinstance(model_field, models.AutoField | models.FileField)
            ):
                continue
            chosen.append(model_field)
        return chosen

    def get_column(self, model_field: models.Field[Any, Any]) -> Column:
        column = self.columns.get(model_field.name, Column())
        lookup = self.lookups.get(model_field.name)
        if lookup and not column.lookup:
            column = replace(column, lookup=lookup)
        return column

    def get_options(self, **overrides: Any) -> ConvertOptions:
        options = ConvertOptions(day_first=self.day_first, decimal_separator=self.decimal_separator)
        return replace(options, **overrides)

    def clean_row(self, data: dict[str, Any], row: int) -> dict[str, Any]:
        """Cross-field checks; raise ValidationError (a dict names the fields)."""
        return data

    # Binding to a file ------------------------------------------------------------
    def candidates(self) -> dict[str, list[str]]:
        return {f.name: header_names(f, self.get_column(f)) for f in self.get_fields()}

    def bind(
        self,
        headers: Sequence[str],
        *,
        mode: Mode = "upsert",
        key_fields: Sequence[str] | None = None,
        mapping: Mapping[int, str | None] | None = None,
        options: ConvertOptions | None = None,
    ) -> BoundImport:
        """Match headers to fields and compile the cleaners; file-level problems raise TableError.

        ``mapping`` (column position -> field name or None to ignore) overrides
        the automatic matching, as edited by the user in the preview.
        """
        by_name = {f.name: f for f in self.get_fields()}
        matched, unmatched, duplicates = match_headers(headers, self.candidates())
        if mapping is not None:
            for position, name in mapping.items():
                if name is None:
                    matched.pop(position, None)
                elif name in by_name and 0 <= position < len(headers):
                    matched[position] = name
                else:
                    raise TableError(
                        texts.gettext('"%(name)s" is not a field this import can fill.', name=name),
                        code="bad_mapping",
                    )
            seen: dict[str, list[int]] = {}
            for position, name in matched.items():
                seen.setdefault(name, []).append(position)
            duplicates = {n: p for n, p in seen.items() if len(p) > 1}
            unmatched = [i for i, h in enumerate(headers) if h and i not in matched]
        if duplicates:
            name, positions = next(iter(duplicates.items()))
            quoted = [f'"{headers[p]}"' for p in positions]
            shown: texts.Text | str = ", ".join(quoted)
            if len(quoted) == 2:
                shown = texts.gettext("%(first)s and %(second)s", first=quoted[0], second=quoted[1])
            raise TableError(
                texts.gettext(
                    "The columns %(columns)s both fill %(field)s; keep only one.",
                    columns=shown,
                    field=texts.label(by_name[name].verbose_name),
                ),
                code="duplicate_columns",
            )
        if not matched:
            expected = ", ".join(f'"{f.verbose_name}"' for f in by_name.values())
            raise TableError(
                texts.gettext(
                    "None of the column headers match. Expected headers such as %(expected)s.",
                    expected=expected,
                ),
                code="no_matching_columns",
            )
        keys = list(self.key_fields if key_fields is None else key_fields)
        present = set(matched.values())
        missing = [k for k in keys if k not in present] if mode != "create" else []
        if mode != "update":
            for model_field in by_name.values():
                column = self.get_column(model_field)
                required = column.required
                if required is None:
                    required = not (
                        model_field.blank or model_field.null or model_field.has_default()
                    )
                if required and model_field.name not in present and model_field.name not in missing:
                    missing.append(model_field.name)
        if missing:
            order = list(by_name)
            missing.sort(key=lambda name: order.index(name) if name in order else -1)
            names = ", ".join(f'"{by_name[m].verbose_name}"' for m in missing if m in by_name)
            raise TableError(
                texts.gettext("The file has no column for %(names)s.", names=names),
                code="missing_columns",
            )
        options = options or self.get_options()
        bound = [
            BoundColumn(
                position,
                headers[position],
                by_name[name],
                self.get_column(by_name[name]),
                build_cleaner(by_name[name], self.get_column(by_name[name]), options),
            )
            for position, name in sorted(matched.items())
        ]
        return BoundImport(self, list(headers), bound, [headers[i] for i in unmatched], keys)


class BoundImport:
    """An import definition matched to one file's headers; cleans rows chunk by chunk."""

    def __init__(
        self,
        definition: ImportDefinition,
        headers: list[str],
        columns: list[BoundColumn],
        ignored_headers: list[str],
        key_fields: list[str],
    ) -> None:
        self.definition = definition
        self.model = definition.model
        self.headers = headers
        self.columns = columns
        self.ignored_headers = ignored_headers
        self.key_fields = key_fields
        self._fk_cache: dict[str, dict[Any, Any]] = {}

    @property
    def field_names(self) -> list[str]:
        return [c.field.name for c in self.columns]

    def header_for(self, field_name: str) -> str | None:
        return next((c.header for c in self.columns if c.field.name == field_name), None)

    def clean_chunk(self, rows: Iterable[tuple[int, list[CellValue]]]) -> ChunkResult:
        return self.finish_chunk(self.clean_cells(rows))

    def clean_cells(self, rows: Iterable[tuple[int, list[CellValue]]]) -> CellsCleaned:
        """The part of cleaning that needs no database: every cell through its column."""
        result = ChunkResult()
        rows = list(rows)
        numbers = [number for number, _ in rows]
        records = [values for _, values in rows]
        outputs: list[list[Any]] = []
        problems: dict[int, list[tuple[str, texts.Text | str]]] = {}
        for col in self.columns:
            position = col.position
            cells = [record[position] for record in records]
            out, failures = col.clean_many(cells)
            if ErrorCell in set(map(type, cells)):
                # "#DIV/0!" is no value: the row fails, naming the cell and the error.
                for index, cell in enumerate(cells):
                    if cell.__class__ is ErrorCell:
                        failures[index] = error_message(cell)  # type: ignore[arg-type]
            outputs.append(out)
            for index, message in failures.items():
                problems.setdefault(index, []).append((col.header, message))
        attnames = [col.field.attname for col in self.columns]
        skipping = [name for name, out in zip(attnames, outputs, strict=True) if SKIP in out]
        pending: list[tuple[int, dict[str, Any], list[CellValue]]] = []
        errors, failed = result.errors, result.failed
        if not problems and not skipping and outputs:
            # The usual chunk: every cell fine, so build the rows at C speed.
            datas = [dict(zip(attnames, row, strict=True)) for row in zip(*outputs, strict=True)]
            pending = list(zip(numbers, datas, records, strict=True))
            outputs = []
        for index, cleaned in enumerate(zip(*outputs, strict=True) if outputs else ()):
            number = numbers[index]
            if index in problems:
                errors.extend(RowError(number, header, text) for header, text in problems[index])
                failed[number] = records[index]
                continue
            data = dict(zip(attnames, cleaned, strict=True))
            for name in skipping:
                if data[name] is SKIP:
                    del data[name]
            pending.append((number, data, records[index]))
        return CellsCleaned(len(rows), numbers[0] if numbers else 0, result, pending)

    def finish_chunk(self, cells: CellsCleaned) -> ChunkResult:
        """Foreign keys (one query per column), clean_row() and the optional form."""
        result, pending = cells.result, cells.pending
        self._resolve_foreign_keys(pending, result)
        form_class = self.definition.form_class
        plain = type(self.definition).clean_row is ImportDefinition.clean_row
        if plain and form_class is None and not result.failed:
            result.rows = [CleanRow(number, data, values) for number, data, values in pending]
            return result
        for number, data, values in pending:
            if number in result.failed:
                continue
            try:
                data = self.definition.clean_row(data, number)
                if form_class is not None:
                    self._run_form(form_class, data)
            except ValidationError as exc:
                self._record_validation_error(exc, number, values, result)
                continue
            result.rows.append(CleanRow(number, data, values))
        return result

    def _resolve_foreign_keys(
        self, pending: list[tuple[int, dict[str, Any], list[CellValue]]], result: ChunkResult
    ) -> None:
        for col in self.columns:
            model_field = col.field
            if not (model_field.is_relation and model_field.many_to_one):
                continue
            related = model_field.related_model
            # A bare id is checked too: on PostgreSQL the foreign key is only checked at
            # COMMIT, which would fail the whole chunk instead of naming the row.
            lookup = col.column.lookup or related._meta.pk.name  # type: ignore[union-attr]
            attname = model_field.attname
            cache = self._fk_cache.setdefault(attname, {})
            wanted = {data[attname] for _, data, _ in pending if data.get(attname) is not None}
            missing = wanted - cache.keys()
            if missing:
                if len(cache) > 200_000:
                    cache.clear()  # keep memory bounded on huge imports
                found: dict[Any, Any] = {}
                manager = related._default_manager  # type: ignore[union-attr]
                for key, pk in manager.filter(**{f"{lookup}__in": missing}).values_list(
                    lookup, "pk"
                ):
                    found[key] = _MISSING if key in found else pk
                for key in missing:
                    cache[key] = found.get(key)
            label = related._meta.verbose_name  # type: ignore[union-attr]
            lookup_label = related._meta.get_field(lookup).verbose_name  # type: ignore[union-attr]
            for number, data, values in pending:
                key = data.get(attname)
                if key is None:
                    continue
                pk = cache.get(key)
                if pk is None or pk is _MISSING:
                    problem = "No" if pk is None else "More than one"
                    result.errors.append(
                        RowError(
                            number,
                            col.header,
                            f'{problem} {label} with {lookup_label} "{cell_text(key)}".',
                        )
                    )
                    result.failed[number] = values
                else:
                    data[attname] = pk

    def _run_form(self, form_class: type[ModelForm[Any]], data: dict[str, Any]) -> None:
        by_attname = {c.field.attname: c.field.name for c in self.columns}
        form = form_class(data={by_attname.get(k, k): v for k, v in data.items()})
        if not form.is_valid():
            raise ValidationError({name: errors for name, errors in form.errors.as_data().items()})

    def _record_validation_error(
        self, exc: ValidationError, number: int, values: list[CellValue], result: ChunkResult
    ) -> None:
        result.failed[number] = values
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                header = self.header_for(name) if name != "__all__" else None
                for error in errors:
                    result.errors.append(RowError(number, header, " ".join(error.messages)))
        else:
            result.errors.append(RowError(number, None, " ".join(exc.messages)))


_registry: dict[type[models.Model], ImportDefinition] = {}


def register_import(definition: ImportDefinition | type[ImportDefinition]) -> Any:
    """Make a definition the one used for its model; usable as a class decorator."""
    instance = definition() if isinstance(definition, type) else definition
    _registry[instance.model] = instance
    return definition


def definition_for(model: type[models.Model]) -> ImportDefinition:
    return _registry.get(model) or ImportDefinition(model)
