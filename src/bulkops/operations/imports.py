"""The ``import`` operation: a stored spreadsheet into a model, chunk by chunk."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models, transaction
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from bulkops import lifecycle, texts
from bulkops.conf import settings
from bulkops.operations.base import Operation
from bulkops.operations.prefetch import Prefetcher
from bulkops.operations.upsert import ChunkWriter, Mode, WriteResult, unique_key_problem
from bulkops.permissions import has_model_permission
from bulkops.registry import register
from bulkops.tabular import Limits, Table, TableError, open_table, write_error_report
from bulkops.tabular.definition import ImportDefinition, RowError, definition_for
from bulkops.tabular.failed import FailedRow, FailedRows
from bulkops.tabular.sniff import estimate_rows

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from bulkops.context import Batch, RunContext
    from bulkops.models import BulkTask

MODES: tuple[Mode, ...] = ("create", "update", "upsert")
# Rows an .xlsx upload is counted exactly up to at submit (see get_total()).
INLINE_COUNT = 10_000
PERMISSIONS = {"create": ("add",), "update": ("change",), "upsert": ("add", "change")}


def limits_from_settings() -> Limits:
    return Limits(
        max_file_size=int(settings.MAX_UPLOAD_SIZE),
        max_rows=int(settings.MAX_ROWS),
        max_columns=int(settings.MAX_COLUMNS),
        max_cells=int(settings.MAX_CELLS),
        max_uncompressed_size=int(settings.MAX_UNPACKED_SIZE),
        max_part_size=int(settings.MAX_PART_SIZE),
    )


def get_definition(model: type[models.Model], path: str | None = None) -> ImportDefinition:
    if not path:
        return definition_for(model)
    definition = import_string(path)
    instance = definition() if isinstance(definition, type) else definition
    if not isinstance(instance, ImportDefinition):
        raise ValidationError(f"{path} is not an ImportDefinition.")
    if instance.model is not model:
        raise ValidationError(
            f"{path} imports {instance.model._meta.label}, not {model._meta.label}."
        )
    return instance  # type: ignore[no-any-return]


def open_input(task: BulkTask) -> Table:
    """Open the task's stored upload through the storage API (works across hosts)."""
    params = task.params
    handle = task.input_file.open("rb")
    try:
        table = open_table(
            handle,  # type: ignore[arg-type]
            filename=params.get("filename") or PurePath(task.input_file.name or "").name,
            limits=limits_from_settings(),
            sheet=params.get("sheet"),
            stored=bool(params.get("stored")),
        )
    except BaseException:
        handle.close()
        raise
    table._closers.append(handle.close)
    return table


def bind_task(task: BulkTask, table: Table, *, using: str = "default") -> tuple[Any, ChunkWriter]:
    """The task's definition bound to the file's headers, and the writer for its rows."""
    params = task.params
    model = task.model_class
    assert model is not None
    definition = get_definition(model, params.get("definition") or None)
    options = definition.get_options(
        day_first=params.get("day_first", definition.day_first),
        decimal_separator=params.get("decimal_separator"),
        date1904=table.date1904,
    )
    mapping = params.get("mapping")
    bound = definition.bind(
        table.headers,
        mode=params["mode"],
        key_fields=params.get("key_fields"),
        mapping={int(k): v for k, v in mapping.items()} if mapping else None,
        options=options,
    )
    writer = ChunkWriter(
        model,
        mode=params["mode"],
        key_fields=bound.key_fields,
        file_fields=bound.field_names,
        using=using,
    )
    return bound, writer


class _RolledBack(Exception):  # noqa: N818 - not an error: carries a dry run's result
    def __init__(self, written: WriteResult) -> None:
        super().__init__()
        self.written = written


class ImportOperation(Operation):
    name = "import"
    label = gettext_lazy("Import")
    permission = "add"
    # By row ranges of the stored upload; not a dry run or an all-or-nothing import.
    shardable = True

    def has_permission(self, user: Any, model: type[models.Model] | None) -> bool:
        # Add or change lets the user in; clean_params() then checks what the mode needs
        # (create: add, update: change, upsert: both).
        if not user.is_authenticated:
            return False
        if model is None:
            return True
        return has_model_permission(user, model, "add", "change")

    def clean_params(
        self,
        params: dict[str, Any],
        *,
        model: type[models.Model] | None,
        queryset: models.QuerySet[Any] | None,
        user: AbstractBaseUser | AnonymousUser | None,
    ) -> dict[str, Any]:
        if model is None:
            raise ValidationError(gettext("An import needs the model to import into."))
        mode = params.get("mode", "upsert")
        if mode not in MODES:
            raise ValidationError(
                {"mode": gettext("Choose one of %(modes)s.") % {"modes": ", ".join(MODES)}}
            )
        if user is not None:
            for action in PERMISSIONS[mode]:
                if not has_model_permission(user, model, action):
                    plural = model._meta.verbose_name_plural
                    raise PermissionDenied(
                        gettext("You may not %(action)s %(models)s.")
                        % {"action": action, "models": plural}
                    )
        definition = get_definition(model, params.get("definition"))
        key_fields = list(params.get("key_fields") or definition.key_fields)
        if mode != "create" or key_fields:
            problem = unique_key_problem(model, key_fields)
            if problem and (mode != "create"):
                raise ValidationError({"key_fields": str(problem)})
            if problem:
                key_fields = []
        mapping = params.get("mapping")
        if mapping is not None:
            mapping = {str(int(k)): (v or None) for k, v in dict(mapping).items()}
        separator = params.get("decimal_separator") or None
        if separator not in (None, ",", "."):
            raise ValidationError({"decimal_separator": gettext('Use "," or ".".')})
        return {
            "mode": mode,
            "key_fields": key_fields,
            "mapping": mapping,
            "day_first": bool(params.get("day_first", definition.day_first)),
            "decimal_separator": separator,
            "sheet": params.get("sheet"),
            "atomic": bool(params.get("atomic", False)),
            "filename": str(params.get("filename") or ""),
            "definition": params.get("definition") or "",
            "chunk_size": params.get("chunk_size"),
            "dry_run": bool(params.get("dry_run", False)),
            # The input is a table the upload step parsed (never set from user input).
            "stored": bool(params.get("stored", False)),
            # The error report is a file, written once: in the language of whoever started
            # the import (the pages render each reader's own).
            "language": str(params.get("language") or translation.get_language() or ""),
        }

    def get_total(self, task: BulkTask) -> int | None:
        # Counted from the file's metadata: loading a big sheet here would double the work.
        try:
            with task.input_file.open("rb") as handle:
                return estimate_rows(
                    handle,  # type: ignore[arg-type]
                    filename=task.params.get("filename")
                    or PurePath(task.input_file.name or "").name,
                    limits=limits_from_settings(),
                    stored=bool(task.params.get("stored")),
                    # Exact where it decides whether the job runs inline; the worker
                    # counts every row on opening the file.
                    exact_below=max(int(settings.SYNC_THRESHOLD or 0), INLINE_COUNT),
                )
        except OSError:
            return None

    def after_shards(self, parent: BulkTask) -> None:
        """The error report of a sharded import: the shards stored every failed row's
        errors on the parent, and the rows come from the stored upload once."""
        # As for one worker: a report when the import ran to its end with failed rows.
        if (
            parent.status == parent.Status.SUCCEEDED
            and parent.failed_count
            and not parent.params.get("dry_run")
        ):
            save_sharded_error_report(parent)

    def plan_shards(self, task: BulkTask, count: int) -> list[dict[str, Any]]:
        from bulkops.sharding import row_ranges

        params = task.params
        if not params.get("stored") or params.get("atomic") or params.get("dry_run"):
            return []
        # The stored table's row count is exact (read at upload), so ranges are exact too.
        return row_ranges(task.total or 0, count)

    def get_label(self, task: BulkTask) -> texts.Text:
        model = task.model_class
        name = task.params.get("filename") or ""
        plural = texts.label(model._meta.verbose_name_plural) if model is not None else ""
        if task.params.get("dry_run"):
            return texts.gettext("Check %(models)s from %(file)s", models=plural, file=name)
        return texts.gettext("Import %(models)s from %(file)s", models=plural, file=name)

    # Running -------------------------------------------------------------------------
    def run(self, ctx: RunContext) -> dict[str, Any]:
        params = ctx.params
        dry_run = bool(params.get("dry_run"))
        # Rows committed before a restart were met by an earlier process: the report
        # reads those (and only those) from the file again.
        start = int(ctx.checkpoint.get("offset", 0))
        ctx.progress(stage=texts.gettext("Reading the file"), force=True)
        with FailedRows() as failed:
            with open_input(ctx.task) as table:
                bound, writer = bind_task(ctx.task, table, using=ctx.db)
                headers, stem = list(table.headers), PurePath(table.filename).stem
                try:
                    ctx.set_total(_part_size(ctx, table))
                    if params.get("atomic") and not dry_run:
                        refused = self._run_atomic(ctx, table, bound, writer, failed)
                    else:
                        self._pass(ctx, table, bound, writer, failed, dry_run=dry_run)
                        # A checked all-or-nothing import with a failing row will write
                        # nothing: say so.
                        refused = (
                            dry_run and bool(params.get("atomic")) and ctx.task.failed_count > 0
                        )
                finally:
                    writer.close()
            # The table (a whole parsed sheet, for calamine) is closed before the report.
            del table, bound
            return self._finish(
                ctx,
                failed,
                headers,
                stem or "import",
                start=start,
                nothing_written=refused,
                dry_run=dry_run,
            )

    def _pass(
        self,
        ctx: RunContext,
        table: Table,
        bound: Any,
        writer: ChunkWriter,
        failed: FailedRows,
        *,
        dry_run: bool,
    ) -> None:
        """Every row through cleaning and the writer, chunk by chunk, resumable.

        A dry run is this very pass with each chunk's writes rolled back to a savepoint:
        the same statements meet the same keys, unique constraints and foreign keys, so
        its errors and counts are the import's (django-import-export's dry run works the
        same way). Only its progress, counts and row errors are committed.
        """
        offset = int(ctx.checkpoint.get("offset", 0))
        if offset and writer.remembers:
            self._remember(ctx, table, bound, writer, offset)
        stage = texts.gettext("Checking every row") if dry_run else texts.gettext("Importing")
        ctx.progress(stage=stage, force=True)
        prefetcher = Prefetcher(_part(ctx, table), bound, ctx.next_chunk_size)
        for batch in ctx.batches(prefetcher):
            with batch:
                found = self._apply(batch, bound, writer, prefetcher, dry_run=dry_run)
            # Kept once committed: a batch that rolls back is not part of the report.
            for row in found:
                failed.add(*row)

    def _remember(
        self, ctx: RunContext, table: Table, bound: Any, writer: ChunkWriter, offset: int
    ) -> None:
        # A resumed run has a fresh writer: feed it the keys of the rows committed before,
        # so a repeat that straddles the restart is still "an earlier row", not an update.
        ctx.progress(stage=texts.gettext("Resuming"), force=True)
        rows = islice(_part(ctx, table), offset)
        for chunk in _chunks(rows, ctx.chunk_size):
            writer.remember(bound.clean_chunk(chunk).rows)

    def _apply(
        self,
        batch: Batch,
        bound: Any,
        writer: ChunkWriter,
        prefetcher: Prefetcher | None = None,
        *,
        dry_run: bool = False,
    ) -> list[FailedRow]:
        """Clean and write one batch; returns its failed rows for the report."""
        if prefetcher is None:
            cleaned = bound.clean_chunk(batch.items)
        else:
            cleaned = prefetcher.clean(batch.items)
        ahead = prefetcher.fetch_ahead if prefetcher is not None else None
        if dry_run:
            try:
                with transaction.atomic(using=writer.using):  # a savepoint, rolled back
                    raise _RolledBack(writer.write(cleaned.rows, while_copying=ahead))
            except _RolledBack as done:
                written = done.written
        else:
            written = writer.write(cleaned.rows, while_copying=ahead)
        messages: dict[int, list[RowError]] = defaultdict(list)
        for error in cleaned.errors:
            messages[error.row].append(error)
        values = dict(cleaned.failed)
        for row, message in written.errors:
            messages[row.row].append(RowError(row.row, None, message))
            values[row.row] = row.values
        headers = bound.headers
        found: list[FailedRow] = []
        for number in sorted(messages):
            original = values.get(number, [])
            _record(batch, number, messages[number], _json_values(headers, original))
            with translation.override(report_language(batch.ctx.task)):
                lines = [
                    line
                    for e in messages[number]
                    for line in report_lines(e.column, str(e.message))
                ]
            found.append((number, list(original), lines))
        batch.succeeded(written.created + written.updated)
        batch.skipped(written.skipped)
        state = batch.state
        state["created"] = int(state.get("created", 0)) + written.created
        state["updated"] = int(state.get("updated", 0)) + written.updated
        return found

    def _run_atomic(
        self, ctx: RunContext, table: Table, bound: Any, writer: ChunkWriter, failed: FailedRows
    ) -> bool:
        """All or nothing; True when a failing row refused the whole file."""
        # First the dry run over every row (it records every failing row, with the
        # import's own messages); only a clean file is then written, in one
        # transaction, by a fresh writer.
        if not ctx.checkpoint.get("written"):
            self._pass(ctx, table, bound, writer, failed, dry_run=True)
        if ctx.task.failed_count:
            ctx.void_successes()
            ctx.progress(stage=texts.gettext("Nothing imported"), force=True)
            return True
        if ctx.checkpoint.get("written"):
            return False
        ctx.progress(stage=texts.gettext("Importing"), force=True)
        fresh = ChunkWriter(
            writer.model,
            mode=writer.mode,
            key_fields=bound.key_fields,
            file_fields=bound.field_names,
            using=ctx.db,
        )
        created = updated = 0
        try:
            with transaction.atomic(using=ctx.db):
                for chunk in _chunks(table.rows(), ctx.chunk_size):
                    ctx.check_cancelled()
                    cleaned = bound.clean_chunk(chunk)
                    written = fresh.write(cleaned.rows)
                    problem = cleaned.errors[:1] or [
                        RowError(row.row, None, message) for row, message in written.errors[:1]
                    ]
                    if problem:
                        # The table changed since the check: keep the promise, write nothing.
                        raise TableError(
                            texts.gettext(
                                "%(error)s Nothing was imported (all-or-nothing).",
                                error=problem[0].text,
                            ),
                            code="atomic_failed",
                        )
                    created += written.created
                    updated += written.updated
                # Saved with the rows, so a restart after this commit does not write again.
                ctx.save_checkpoint(written=True, created=created, updated=updated)
        finally:
            fresh.close()
        return False

    def _finish(
        self,
        ctx: RunContext,
        failed: FailedRows,
        headers: list[str],
        stem: str,
        *,
        start: int = 0,
        nothing_written: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        task = ctx.task
        state = ctx.checkpoint
        if task.total != task.processed:
            # The total was read from the file's metadata before reading it (blank rows,
            # cells spanning lines); the rows actually read are the true total.
            ctx.set_total(task.processed)
        result: dict[str, Any] = {
            "created": 0 if nothing_written else int(state.get("created", 0)),
            "updated": 0 if nothing_written else int(state.get("updated", 0)),
            "skipped": task.skipped_count,
            "failed": task.failed_count,
            "all_or_nothing_refused": nothing_written,
            "dry_run": dry_run,
        }
        if task.failed_count and not ctx.shard:
            ctx.progress(stage=texts.gettext("Writing the error report"), force=True)
            result["error_report"] = save_error_report(ctx, failed, headers, stem, start=start)
        ctx.progress(stage=texts.gettext("Done"), force=True)
        return result


def _part(ctx: RunContext, table: Table) -> Iterator[Any]:
    """The rows this run imports: the whole file, or a shard's row range of it."""
    shard = ctx.shard
    if not shard or "rows" not in shard:
        return table.rows()
    start, stop = shard["rows"]
    return table.row_range(int(start), int(stop))


def _part_size(ctx: RunContext, table: Table) -> int | None:
    shard = ctx.shard
    if not shard or "rows" not in shard:
        return table.row_count
    start, stop = shard["rows"]
    return int(stop) - int(start)


def _short(error: RowError) -> texts.Text | str:
    if not error.column:
        return error.message
    return texts.gettext(
        'Column "%(column)s": %(message)s', column=error.column, message=error.message
    )


def _record(batch: Batch, number: int, errors: list[RowError], values: dict[str, Any]) -> None:
    """One stored error per failed row; ``field`` names the columns at fault."""
    # The task pages show "Row 17, Email: <message>", so a single message stays bare.
    message = (
        errors[0].message if len(errors) == 1 else texts.join([_short(e) for e in errors], "\n")
    )
    columns = ", ".join(dict.fromkeys(e.column for e in errors if e.column))
    batch.error(message, row=number, field=columns, values=values)


def report_language(task: BulkTask) -> str | None:
    """The error report is a file, written once: in the language of whoever started the
    import (the pages render each reader's own)."""
    return str(task.params.get("language") or task.language or "") or translation.get_language()


def report_lines(field: str | None, message: str) -> list[str]:
    if "\n" in message or not field:
        return message.split("\n")
    return [str(texts.gettext('Column "%(column)s": %(message)s', column=field, message=message))]


def _json_values(headers: list[str], values: list[Any]) -> dict[str, Any]:
    from bulkops.tabular import cell_text

    return {
        header or f"Column {i + 1}": cell_text(v)
        for i, (header, v) in enumerate(zip(headers, values, strict=False))
        if v is not None
    }


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def save_error_report(
    ctx: RunContext, failed: FailedRows, headers: list[str], stem: str, *, start: int = 0
) -> str:
    """Write every failed row, exactly as uploaded, with its errors; store as result_file.

    The rows come from ``failed``, kept while importing. Only after a restart are the
    rows before it (``start``, committed by an earlier process) read from the file again,
    and only as far as the restart; of those, the report holds the ones with a stored
    error (all of them unless the task met more than ``MAX_ERRORS``).
    """
    labels = _report_labels(ctx.task)
    with tempfile.TemporaryFile() as out:
        if start:
            with open_input(ctx.task) as table:
                rows = chain(_failed_before(ctx.task, table, start), failed)
                write_error_report(out, headers, rows, **labels)  # type: ignore[arg-type]
        else:
            write_error_report(out, headers, failed, **labels)  # type: ignore[arg-type]
        out.seek(0)
        return ctx.save_result_file(f"{stem}-errors.xlsx", File(out))


def save_sharded_error_report(parent: BulkTask) -> None:
    """Every failed row of a sharded import with its stored errors, as the parent's file.

    The row errors are stored up to ``MAX_ERRORS``, so past that the report stops where
    they stop (a single-worker import keeps every failed row as it meets them).
    """
    labels = _report_labels(parent)
    with open_input(parent) as table, tempfile.TemporaryFile() as out:
        headers, stem = list(table.headers), PurePath(table.filename).stem or "import"
        rows = _failed_before(parent, table, None)
        write_error_report(out, headers, rows, **labels)  # type: ignore[arg-type]
        out.seek(0)
        lifecycle.attach_result_file(parent, f"{stem}-errors.xlsx", File(out), "error_report")


def _report_labels(task: BulkTask) -> dict[str, str]:
    with translation.override(report_language(task)):
        return {"sheet_title": str(_("Rows to fix")), "errors_header": str(_("Errors"))}


def _failed_before(task: BulkTask, table: Table, start: int | None) -> Iterator[FailedRow]:
    messages: dict[int, list[str]] = defaultdict(list)
    errors = task.errors.exclude(row=None).only("row", "field", "message", "message_data")
    with translation.override(report_language(task)):
        for error in errors:
            shown = error.get_message_display()
            messages[int(error.row or 0)].extend(report_lines(error.field, shown))
    for number, values in islice(table.rows(), start):
        if number in messages:
            yield number, values, messages[number]


register(ImportOperation)
