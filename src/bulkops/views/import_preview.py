"""What the preview step shows: the sheet, the column mapping and the first rows.

Whether the rows import is not guessed here: once the columns bind, the page starts a
dry run of the whole file (see ``bulkops.views.import_check``).
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.core.files.storage import Storage

from bulkops.tabular import Limits, TableError, cell_text, open_table
from bulkops.tabular.definition import ImportDefinition

PREVIEW_ROWS = 20


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
            sample = list(islice(table.rows(), PREVIEW_ROWS))
            context["sample"] = [(n, [cell_text(v) for v in values]) for n, values in sample]
            if bound is not None:
                context.update(ignored=bound.ignored_headers, can_import=True)
    return context
