"""What the preview step shows: the mapping, the first rows, and the errors found so far."""

from __future__ import annotations

from collections import defaultdict
from itertools import islice
from typing import Any

from django.core.files.storage import Storage

from bulkops.tabular import Limits, TableError, cell_text, open_table
from bulkops.tabular.definition import ImportDefinition, RowError

PREVIEW_ROWS = 20
PREVIEW_CHECK_ROWS = 50_000
PREVIEW_ERRORS = 100
CHUNK = 1000


def build_preview(
    definition: ImportDefinition,
    staged: dict[str, str],
    options: dict[str, Any],
    mapping: dict[int, str | None] | None,
    storage: Storage,
    limits: Limits,
) -> dict[str, Any]:
    """Read the staged file and check its rows without writing anything."""
    context: dict[str, Any] = {"filename": staged["filename"], "problem": ""}
    fields = definition.get_fields()
    context["field_choices"] = [(f.name, str(f.verbose_name)) for f in fields]
    mode = options.get("mode") or "upsert"
    key = options.get("key_field")
    with storage.open(staged["path"], "rb") as handle:
        try:
            table = open_table(
                handle,  # type: ignore[arg-type]
                filename=staged["filename"],
                limits=limits,
                sheet=options.get("sheet") or None,
                stored=True,  # written by the upload step (import_staging.py)
            )
        except TableError as exc:
            context["problem"] = exc.message
            return context
        with table:
            context.update(
                notices=table.notices,
                headers=table.headers,
                row_count=table.row_count,
                sheet=table.sheet_name,
                sheet_names=table.sheet_names,
            )
            convert = definition.get_options(
                day_first=options.get("dates", "dmy") != "mdy",
                decimal_separator=options.get("decimal_separator") or None,
                date1904=table.date1904,
            )
            auto = None
            if mapping is None:
                # Show what matched on its own even when the file is not importable yet.
                try:
                    auto = definition.bind(table.headers, mode="update", key_fields=[])
                except TableError:
                    auto = None
            try:
                bound = definition.bind(
                    table.headers,
                    mode=mode,  # type: ignore[arg-type]
                    key_fields=[key] if key else [],
                    mapping=mapping,
                    options=convert,
                )
            except TableError as exc:
                context["problem"] = exc.message
                bound = None
            chosen = (
                {c.position: c.field.name for c in (bound or auto).columns}  # type: ignore[union-attr]
                if (bound or auto)
                else {i: v for i, v in (mapping or {}).items() if v}
            )
            context["columns"] = [
                {"position": i, "header": h, "field": chosen.get(i, "")}
                for i, h in enumerate(table.headers)
            ]
            rows = table.rows()
            sample = list(islice(rows, PREVIEW_ROWS))
            if bound is None:
                context["sample"] = [
                    (n, [(cell_text(v), "") for v in values], {}) for n, values in sample
                ]
                return context
            errors: list[RowError] = []
            failed_rows = 0
            checked = 0
            by_cell: dict[int, dict[str, str]] = defaultdict(dict)
            pending = sample
            while pending:
                result = bound.clean_chunk(pending)
                checked += len(pending)
                failed_rows += len(result.failed)
                for error in result.errors:
                    if len(errors) < PREVIEW_ERRORS:
                        errors.append(error)
                    if error.row <= sample[-1][0] and error.column:
                        by_cell[error.row][error.column] = error.message
                if checked >= PREVIEW_CHECK_ROWS:
                    break
                pending = list(islice(rows, CHUNK))
            complete = next(rows, None) is None
    context.update(
        sample=[
            (
                n,
                [
                    (cell_text(v), by_cell[n].get(h, ""))
                    for h, v in zip(table.headers, values, strict=False)
                ],
                by_cell[n],
            )
            for n, values in sample
        ],
        errors=errors,
        failed_rows=failed_rows,
        checked=checked,
        complete=complete,
        ignored=bound.ignored_headers,
        can_import=True,
    )
    return context
